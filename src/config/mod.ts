export type * from "./types.ts";
export { configPath, homeDir, loadConfig, parseConfig } from "./load.ts";
export { ConfigError, isLoopbackHost } from "./validate.ts";
export { compileRegex } from "./regex.ts";
export { showConfig } from "./show.ts";
export { type Api, type Preset, PRESETS } from "./presets.ts";
