// faulty-proxy.mjs — a registry that misbehaves on purpose, for error tests: an HTTP proxy on a
// free 127.0.0.1 port in front of a plain-HTTP registry (test/images/registry.sh), passing
// requests through except those a fault names.
//
//   node faulty-proxy.mjs --upstream http://127.0.0.1:PORT [--owner PID] [--fault FAULT]...
//
// FAULT is KIND[@REGEX][*N]: the fault applies to requests whose `METHOD PATH` matches REGEX
// (default: every request), to the first N of them (default: all); the first fault that
// applies wins. KIND is one of
//   status=CODE  answer CODE without asking the registry: 401 with a Basic challenge, any other
//                code with a distribution-spec error body ({"errors":[{"code":"UNKNOWN",...}]})
//   corrupt      the registry's answer with one byte of its body changed (its length and headers
//                as they were): a digest mismatch
//   truncate     the registry's headers and half its body, then the connection is closed
//   hang         no answer at all; the connection stays open until the client gives up
//   drop         the connection is closed without an answer
//   slow=BPS     the registry's answer at BPS bytes a second
// e.g. --fault 'corrupt@GET /v2/.*/blobs/' --fault 'status=500@/manifests/*2'
//
// Prints `listening on 127.0.0.1:PORT`, then one line per request: `METHOD PATH -> what`
// (`pass STATUS`, or the fault's KIND). Stops on SIGTERM/SIGINT, or when PID (--owner) is gone.
// Requests keep their Host header, so the registry's upload Locations point back here.
import http from 'node:http';

function usage(message) {
  process.stderr.write(`faulty-proxy: ${message}\n`);
  process.exit(2);
}

let upstream;
let owner;
const faults = [];
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i += 2) {
  const [flag, value] = [args[i], args[i + 1]];
  if (value === undefined) usage(`${flag} needs a value`);
  if (flag === '--upstream') upstream = new URL(value);
  else if (flag === '--owner') owner = Number(value);
  else if (flag === '--fault') faults.push(parseFault(value));
  else usage(`unknown option ${flag}`);
}
if (upstream === undefined || upstream.protocol !== 'http:') usage('--upstream http://HOST:PORT is required');

function parseFault(text) {
  const m = /^(status=\d{3}|corrupt|truncate|hang|drop|slow=\d+)(?:@(.*?))?(?:\*(\d+))?$/.exec(text);
  if (m === null) usage(`bad fault '${text}'`);
  const [kind, arg] = m[1].split('=');
  return { text, kind, arg: arg === undefined ? undefined : Number(arg), match: new RegExp(m[2] ?? ''), left: m[3] === undefined ? Infinity : Number(m[3]) };
}

function faultFor(req) {
  const line = `${req.method} ${req.url}`;
  const fault = faults.find((f) => f.left > 0 && f.match.test(line));
  if (fault !== undefined) fault.left -= 1;
  return fault;
}

function log(req, what) {
  process.stdout.write(`${req.method} ${req.url} -> ${what}\n`);
}

function answerStatus(res, code) {
  const body = JSON.stringify({ errors: [{ code: code === 401 ? 'UNAUTHORIZED' : 'UNKNOWN', message: `faulty-proxy: status ${code}`, detail: null }] });
  const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'docker-distribution-api-version': 'registry/2.0' };
  if (code === 401) headers['www-authenticate'] = 'Basic realm="faulty-proxy"';
  res.writeHead(code, headers).end(body);
}

/** Sends the registry's answer to `res`, changed as `fault` says (corrupt, truncate, slow, or none). */
function relay(upRes, res, fault) {
  res.writeHead(upRes.statusCode ?? 502, upRes.headers);
  const length = Number(upRes.headers['content-length'] ?? NaN);
  const cut = Number.isFinite(length) ? Math.floor(length / 2) : undefined;
  let offset = 0;
  upRes.on('data', (chunk) => {
    let out = chunk;
    if (fault?.kind === 'corrupt' && cut !== undefined && offset <= cut && cut < offset + chunk.length) {
      out = Buffer.from(chunk);
      out[cut - offset] ^= 0xff;
    }
    if (fault?.kind === 'truncate' && cut !== undefined && offset + chunk.length > cut) {
      res.write(out.subarray(0, cut - offset));
      res.socket?.destroy();
      upRes.destroy();
      return;
    }
    offset += chunk.length;
    if (fault?.kind === 'slow') {
      upRes.pause();
      res.write(out);
      setTimeout(() => upRes.resume(), Math.ceil((chunk.length * 1000) / fault.arg));
    } else if (!res.write(out)) {
      upRes.pause();
      res.once('drain', () => upRes.resume());
    }
  });
  upRes.on('end', () => res.end());
  upRes.on('error', () => res.socket?.destroy());
}

const server = http.createServer((req, res) => {
  const fault = faultFor(req);
  if (fault?.kind === 'status') {
    log(req, `status=${fault.arg}`);
    req.resume();
    answerStatus(res, fault.arg);
    return;
  }
  if (fault?.kind === 'hang') {
    log(req, 'hang');
    req.resume();
    return;
  }
  if (fault?.kind === 'drop') {
    log(req, 'drop');
    req.socket.destroy();
    return;
  }
  const upReq = http.request(
    { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
    (upRes) => {
      log(req, fault === undefined ? `pass ${upRes.statusCode}` : `${fault.kind} ${upRes.statusCode}`);
      relay(upRes, res, fault);
    },
  );
  upReq.on('error', (e) => {
    log(req, `upstream error ${e.message}`);
    if (!res.headersSent) answerStatus(res, 502);
    else res.socket?.destroy();
  });
  req.pipe(upReq);
});

function stop() {
  server.closeAllConnections();
  server.close(() => process.exit(0));
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (owner !== undefined) {
  setInterval(() => {
    try {
      process.kill(owner, 0);
    } catch {
      stop();
    }
  }, 1000).unref();
}

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  process.stdout.write(`listening on 127.0.0.1:${port}\n`);
});
