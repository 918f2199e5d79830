export { StaticResourceSource } from "./StaticResourceSource.js";
