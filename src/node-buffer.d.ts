// The Worker runs with nodejs_compat; only the slice of node:buffer it uses is declared here.
declare module "node:buffer" {
  export const Buffer: {
    from(data: ArrayBuffer | Uint8Array): { toString(encoding: "base64"): string };
    from(data: string, encoding: "base64"): Uint8Array;
  };
}
