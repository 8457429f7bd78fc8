// `ccmux status`: placeholder until its issue lands.
import { CliError, type Io } from "./io.ts";

export function run(_argv: string[], _io: Io): Promise<number> {
  return Promise.reject(new CliError("status is not built yet"));
}
