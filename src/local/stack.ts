/**
 * The local stack: the control plane in workerd (state on disk) and real tether-agent hosts.
 * The end-to-end tests and the benchmarks start Tether through here; `npm start` uses the two
 * halves from separate processes.
 */
export { startControlPlane, type ControlPlane } from "./control-plane.js";
export { ensureAgent, startHostAgent, workspaceToken, type HostAgent } from "./hosts.js";
