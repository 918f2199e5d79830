export { MeshFileSource, type MeshFileSourceOptions } from "./MeshFileSource.js";
