export { openDevCa, DEV_CA_CERT_FILE, DEV_CA_KEY_FILE, type OpenedDevCa } from './DevCaDirectory.js';
export { certsCommand, CERTS_USAGE } from './certsCommand.js';
