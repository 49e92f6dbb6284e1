import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** An HTTP server that can stop listening and drop its connections, then listen again. */
export interface HttpListener {
  /** Resolves with the port listened on (0 picks a free one). */
  listen(port: number): Promise<number>;
  /** Resolves once the server is closed, i.e. when its connections are gone too. */
  stopListening(): Promise<void>;
  destroySockets(): void;
}

export function createHttpListener(
  host: string,
  handle: (request: IncomingMessage, response: ServerResponse) => void,
): HttpListener {
  const sockets = new Set<Socket>();
  const server = createServer(handle);
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  return {
    listen: (port) =>
      new Promise<number>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve((server.address() as AddressInfo).port);
        });
      }),
    stopListening: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
      }),
    destroySockets() {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
  };
}
