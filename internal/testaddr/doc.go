// Package testaddr gives tests loopback addresses that no other process
// can take. Freeing a port (listen on :0, close it) and binding it again
// later races with everything else on the machine: an outgoing connection
// may take the port as its source port, another test may listen on it. On
// a busy CI machine that happens, and a test then talks to a stranger or
// cannot start its server.
//
// Reserve holds a TCP socket bound to 127.0.0.1 with SO_REUSEADDR that
// never listens, until the test ends. Meanwhile, on Linux:
//   - connections to the address are refused: nothing listens there;
//   - the kernel gives the port to no other socket, neither as a source
//     port nor to a bind without SO_REUSEADDR;
//   - a server may listen on it at any time, stop, and listen again, in
//     the test's process or in a child: Go's net.Listen sets SO_REUSEADDR,
//     and Linux lets a listener share a port with sockets that only are
//     bound.
//
// So one helper serves both needs: an address nobody listens on, and a
// server restarted on the same address. Elsewhere than Linux it falls back
// to a port that was free a moment ago, with the old race.
package testaddr
