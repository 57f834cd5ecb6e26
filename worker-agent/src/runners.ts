/** The runners this host can run: a runner's program found on tether-agent's PATH. */
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

const PROGRAMS: Record<string, string> = { claude: "claude" };

export function availableRunners(path = process.env.PATH ?? ""): string[] {
  return Object.entries(PROGRAMS)
    .filter(([, program]) =>
      path.split(delimiter).some((dir) => {
        try {
          accessSync(join(dir || ".", program), constants.X_OK);
          return true;
        } catch {
          return false;
        }
      }),
    )
    .map(([runner]) => runner);
}
