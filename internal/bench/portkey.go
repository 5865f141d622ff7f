package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// PortkeyVersion is the Portkey gateway the bench compares against.
const PortkeyVersion = "1.15.2"

// loopbackShim makes Node's servers listen on 127.0.0.1 only: Portkey's
// start script passes a port and no host, which would listen on every
// interface.
const loopbackShim = `import net from 'node:net';
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' && typeof args[1] !== 'string') args[1] = '127.0.0.1';
  return listen.apply(this, args);
};
`

// startPortkey installs @portkey-ai/gateway from npm into a directory of
// the bench's temp dir and runs it with Node on loopback, forwarding to the
// simulator as an OpenAI-compatible custom host. It returns the target;
// e.portkey is the process.
func (e *env) startPortkey(ctx context.Context, logf func(string, ...any)) (target, error) {
	dir := filepath.Join(e.work, "portkey")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return target{}, err
	}
	logf("installing @portkey-ai/gateway@%s from npm into %s", PortkeyVersion, dir)
	ictx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	install := exec.CommandContext(ictx, "npm", "install", "--no-audit", "--no-fund", "--no-save", "--prefix", dir, "@portkey-ai/gateway@"+PortkeyVersion)
	if out, err := install.CombinedOutput(); err != nil {
		return target{}, fmt.Errorf("bench: npm install @portkey-ai/gateway@%s: %v: %s", PortkeyVersion, err, out)
	}
	shim := filepath.Join(dir, "loopback.mjs")
	if err := os.WriteFile(shim, []byte(loopbackShim), 0o644); err != nil {
		return target{}, err
	}
	port, err := freePort()
	if err != nil {
		return target{}, err
	}
	logPath := filepath.Join(e.work, "portkey.log")
	lf, err := os.Create(logPath)
	if err != nil {
		return target{}, err
	}
	cmd := exec.Command("node", "--import", shim, filepath.Join(dir, "node_modules/@portkey-ai/gateway/build/start-server.js"),
		fmt.Sprintf("--port=%d", port), "--headless")
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, lf, lf
	cmd.Env = append(os.Environ(), "NODE_ENV=production")
	if e.portkey, err = start("portkey", cmd); err != nil {
		return target{}, err
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := waitHTTP(ctx, e.portkey, base+"/", 60*time.Second); err != nil {
		return target{}, err
	}
	return target{name: "portkey", url: base + "/v1/chat/completions", key: simKey, headers: map[string]string{
		"x-portkey-provider": "openai", "x-portkey-custom-host": e.simURL,
	}}, nil
}
