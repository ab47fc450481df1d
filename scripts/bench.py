"""Benchmarks of the latchkey binary against the plainest tools doing the same work (and of
its git and kubectl integrations against `latchkey token`).

Each pair runs interleaved (A, B, A, B, …) so machine noise hits both alike; medians are
reported. Work that only makes the baseline possible (parsing curl's JSON to chain rotated
refresh tokens, making PKCE values) stays outside the timed region.
"""

import base64
import hashlib
import http.server
import json
import os
import secrets
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The profile scripts/bench built: `dist` (Cargo.toml: the optimised binary to ship) by default.
PROFILE = os.environ.get("BENCH_PROFILE", "dist")
# scripts/bench times an installed copy of it (BENCH_BIN; see there why).
BIN = os.environ.get("BENCH_BIN") or os.path.join(
    os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), PROFILE, "latchkey")
BROWSER = os.path.join(ROOT, "tests/authserver/browser")
RUNS = int(os.environ.get("BENCH_RUNS", "30"))


def run(args, env=None, check=True):
    out = subprocess.run(args, env=env, check=False, capture_output=True, text=True)
    if check and out.returncode != 0:
        sys.exit(f"bench: {' '.join(args)} exited {out.returncode}: {out.stderr.strip()}")
    return out


def timed(args, env=None):
    t0 = time.perf_counter()
    out = run(args, env)
    return time.perf_counter() - t0, out


def timed_input(args, env, stdin):
    t0 = time.perf_counter()
    subprocess.run(args, env=env, check=True, capture_output=True, text=True, input=stdin)
    return time.perf_counter() - t0


def median_ms(xs):
    return statistics.median(xs) * 1000


def report(name, ours, base, base_name, target):
    m_ours, m_base = median_ms(ours), median_ms(base)
    ratio = m_ours / m_base
    verdict = "meets" if ratio <= target else "MISSES"
    print(f"{name}: latchkey {m_ours:.1f} ms, {base_name} {m_base:.1f} ms "
          f"(median of {len(ours)}), ratio {ratio:.2f} — {verdict} the ≤ {target}× target")


def main():
    server = subprocess.Popen(["node", os.path.join(ROOT, "tests/authserver/server.mjs")],
                              stdout=subprocess.PIPE, text=True)
    issuer = server.stdout.readline().strip().removeprefix("READY ")
    config = tempfile.mkdtemp()
    env = dict(os.environ, XDG_CONFIG_HOME=config, BROWSER=BROWSER)
    try:
        run([BIN, "profile", "add", "bench", "--issuer", issuer, "--client-id", "public-app",
             "--scope", "openid email offline_access"], env)
        run([BIN, "login", "bench"], env)
        print(f"machine: {os.cpu_count()} cores; {RUNS} runs per command\n")

        # 1. A cached, valid token: whole process including the keychain read. Entries are
        # named after the config directory's keychain namespace.
        with open(os.path.join(config, "latchkey", "keychain-id")) as f:
            namespace = f.read().strip()
        env["BENCH_KEYCHAIN_NS"] = namespace
        lookup = ["secret-tool", "lookup", "service", "latchkey",
                  "username", f"{namespace}/account:bench/alice@example.test"]
        for _ in range(5):
            run([BIN, "token", "bench"], env), run(lookup)
        ours, base = [], []
        for _ in range(RUNS):
            ours.append(timed([BIN, "token", "bench"], env)[0])
            base.append(timed(lookup)[0])
        report("token (cached)", ours, base, "secret-tool lookup", 1.0)

        # 1b. The tool integrations on the same cached token, against `latchkey token` itself.
        kube_env = dict(env, KUBERNETES_EXEC_INFO=json.dumps({
            "kind": "ExecCredential", "apiVersion": "client.authentication.k8s.io/v1",
            "spec": {"interactive": False}}))
        git_request = "protocol=https\nhost=git.example.com\n\n"
        tools = [
            ("kube-credential (cached)", lambda: timed([BIN, "kube-credential", "bench"], kube_env)[0]),
            ("git-credential get (cached)",
             lambda: timed_input([BIN, "git-credential", "--host", "git.example.com", "bench",
                                  "get"], env, git_request)),
        ]
        for name, tool in tools:
            ours, base = [], []
            for _ in range(RUNS):
                ours.append(tool())
                base.append(timed([BIN, "token", "bench"], env)[0])
            report(name, ours, base, "latchkey token", 1.2)

        # 1c. The agent: `latchkey token` answered from the agent's memory, against the direct
        # path (keychain), `secret-tool lookup` and oidc-agent's `oidc-token` in the same run;
        # then the agent's memory with 20 accounts.
        run([BIN, "agent", "start"], env)
        try:
            off = dict(env, LATCHKEY_AGENT="off")
            for _ in range(5):
                run([BIN, "token", "bench"], env), run([BIN, "token", "bench"], off)
            oidc = oidc_agent(issuer, env)
            ours, base, theirs, lookups, floor = [], [], [], [], []
            for _ in range(RUNS):
                floor.append(timed(["true"])[0])
                ours.append(timed([BIN, "token", "bench"], env)[0])
                base.append(timed([BIN, "token", "bench"], off)[0])
                lookups.append(timed(lookup)[0])
                if oidc:
                    theirs.append(timed(["oidc-token", "obench"], oidc)[0])
            report("token via the agent", ours, base, "token direct (LATCHKEY_AGENT=off)", 1.0)
            print(f"  same run: secret-tool lookup {median_ms(lookups):.1f} ms; `true` "
                  f"{median_ms(floor):.2f} ms (what starting any program costs this harness)")
            m = median_ms(ours)
            print(f"token via the agent: median {m:.2f} ms — "
                  f"{'meets' if m <= 2.0 else 'MISSES'} the ≤ 2 ms target")
            if oidc:
                report("token via the agent against oidc-agent", ours, theirs,
                       "oidc-token (oidc-agent)", 1.0)
                # The same pair timed by hyperfine without a shell (`-N`): the figure the
                # target is read on, free of this harness's own 1.3 ms per start.
                ours, theirs = hyperfine_pair([BIN, "token", "bench"], ["oidc-token", "obench"],
                                              dict(oidc))
                report("token via the agent against oidc-agent (hyperfine -N)", ours, theirs,
                       "oidc-token (oidc-agent)", 1.0)
                subprocess.run(["kill", oidc["OIDCD_PID"]], check=False)
            # The door with 50 access rules (none of them this caller's: every one is
            # matched, and the default decides), against none, interleaved.
            rules_file = os.path.join(config, "latchkey", "access.toml")
            for i in range(50):
                run([BIN, "access", "allow", "*", "--program", f"/opt/none/tool{i}"], env)
            with open(rules_file) as f:
                fifty = f.read()
            # In alternating blocks: the door parses the file again only when it changed, so
            # each block starts a second after the change (the steady state of a day's use).
            # Six blocks of RUNS each: a difference of a tenth of a millisecond on 1.5 ms is
            # what is measured, and 30 runs in all moved the ratio by ±0.1 from run to run.
            none_rules, with_rules = [], []
            for _ in range(6):
                os.remove(rules_file)
                time.sleep(1.1)
                none_rules += [timed([BIN, "token", "bench"], env)[0] for _ in range(RUNS)]
                with open(rules_file, "w") as f:
                    f.write(fifty)
                time.sleep(1.1)
                with_rules += [timed([BIN, "token", "bench"], env)[0] for _ in range(RUNS)]
            report("token via the agent with 50 access rules", with_rules, none_rules,
                   "with no rules", 1.05)
            # 1d. The front ends on the door: a request through `latchkey proxy` against the
            # same request sent directly with the token, and `latchkey token` answered by a
            # `latchkey serve` endpoint against the agent.
            os.remove(rules_file)
            proxy_and_serve(issuer, env)
            # 20 accounts in all (oidc-agent's account at the server is one of them).
            held = ["bench/alice@example.test"] + (["obench/alice@example.test"] if oidc else [])
            extra = [f"bench/extra{i}" for i in range(20 - len(held))]
            for a in extra:
                run([BIN, "login", "bench", "--account", a.split("/")[1]], env)
            for _ in range(2):
                for a in held + extra:
                    run([BIN, "token", a], env)
            pid = int(run([BIN, "agent", "status"], env).stdout.split("pid ")[1].split(")")[0])
            with open(f"/proc/{pid}/status") as f:
                rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
            print(f"agent RSS with 20 accounts: {rss / 1024:.1f} MB — "
                  f"{'meets' if rss <= 15 * 1024 else 'MISSES'} the ≤ 15 MB target\n")
        finally:
            run([BIN, "agent", "stop"], env, check=False)

        # 2. A forced refresh against the local server. The curl baseline holds its own grant
        # and chains the rotated refresh token between runs.
        run([BIN, "login", "bench", "--account", "curl"], env)
        rt = json.loads(run([sys.executable, "-c", READ_RT], env).stdout)["rt"]
        token_url = f"{issuer}/token"
        ours, base, rt = refreshes(env, token_url, rt)
        report("refresh (forced)", ours, base, "curl refresh", 1.15)
        # 2b. The same through a running agent (the desktop app, or `latchkey agent`), which
        # holds its keychain connection: the CLI hands the refresh to it.
        run([BIN, "agent", "start"], env)
        try:
            ours, base, rt = refreshes(env, token_url, rt)
            report("refresh (forced) through the agent", ours, base, "curl refresh", 1.15)
        finally:
            run([BIN, "agent", "stop"], env, check=False)

        # 3. A whole sign-in with the scripted browser.
        ours, base = [], []
        for i in range(max(RUNS // 3, 5)):
            ours.append(timed([BIN, "login", "bench", "--account", f"login{i}"], env)[0])
            base.append(curl_login(issuer))
        report("login (scripted browser)", ours, base, "curl + scripted browser", 1.3)
    finally:
        server.terminate()


def hyperfine_pair(ours, theirs, env):
    """Both commands timed by `hyperfine -N` (no shell), RUNS * 10 runs each after 30 warm-ups,
    in one process with the same environment: the two lists of times, in seconds."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(["hyperfine", "-N", "-w", "30", "-r", str(RUNS * 10), "--export-json",
                        out.name, shlex.join(ours), shlex.join(theirs)],
                       env=env, check=True, capture_output=True)
        results = json.load(open(out.name))["results"]
    return results[0]["times"], results[1]["times"]


def refreshes(env, token_url, rt):
    """`latchkey refresh` and curl's refresh with the refresh token `rt`, interleaved: the
    times of each and curl's last rotated refresh token."""
    ours, base = [], []
    for _ in range(RUNS):
        ours.append(timed([BIN, "refresh", "bench/alice@example.test"], env)[0])
        t, out = timed(["curl", "-sS", "-X", "POST", token_url,
                        "-H", "Accept: application/json",
                        "-d", "grant_type=refresh_token", "-d", "client_id=public-app",
                        "--data-urlencode", f"refresh_token={rt}"])
        rt = json.loads(out.stdout)["refresh_token"]
        base.append(t)
    return ours, base, rt


def proxy_and_serve(issuer, env):
    import urllib.request
    token = run([BIN, "token", "bench"], env).stdout.strip()
    resource = f"{issuer}/resource"

    def get(url, headers):
        t0 = time.perf_counter()
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as r:
            r.read()
            assert r.status == 200, r.status
        return time.perf_counter() - t0

    proxy = subprocess.Popen([BIN, "proxy", "bench", "--upstream", issuer], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        base = proxy.stdout.readline().strip()
        for _ in range(5):
            get(f"{base}resource", {}), get(resource, {"Authorization": f"Bearer {token}"})
        ours, direct = [], []
        for _ in range(RUNS):
            ours.append(get(f"{base}resource", {}))
            direct.append(get(resource, {"Authorization": f"Bearer {token}"}))
        print(f"proxy: a GET through `latchkey proxy` {median_ms(ours):.2f} ms, the same GET "
              f"sent directly with the token {median_ms(direct):.2f} ms (median of {RUNS}): "
              f"+{median_ms(ours) - median_ms(direct):.2f} ms per request")
    finally:
        proxy.terminate()
        proxy.wait()
    serve = subprocess.Popen([BIN, "serve", "--account", "bench", "--name", "bench"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        lines = dict(serve.stdout.readline().strip().split("=", 1) for _ in range(2))
        # A client with nothing of its own: no config directory, no agent, no keychain.
        client = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG")}
        client.update(lines, HOME=tempfile.mkdtemp())
        for _ in range(5):
            run([BIN, "token", "bench"], client), run([BIN, "token", "bench"], env)
        ours, agent = [], []
        for _ in range(RUNS):
            ours.append(timed([BIN, "token", "bench"], client)[0])
            agent.append(timed([BIN, "token", "bench"], env)[0])
        report("token from a `latchkey serve` endpoint", ours, agent, "token via the agent", 1.5)
    finally:
        serve.terminate()
        serve.wait()


def oidc_agent(issuer, env):
    """An oidc-agent (Debian's oidc-agent-cli) holding an account at the test server, for
    `oidc-token` side by side: signed in by latchkey (code flow with PKCE, which oidc-gen
    cannot script), its refresh token handed to `oidc-gen --rt`. The client is `conf-post`:
    oidc-agent puts the client secret in the Basic header without form-encoding it, which
    the `conf-basic` client's secret (with `+/:%&`) does not survive. Returns the environment
    that reaches the agent, or None (saying why) when oidc-agent is missing or fails."""
    if subprocess.run(["sh", "-c", "command -v oidc-agent oidc-gen oidc-token"],
                      capture_output=True).returncode != 0:
        print("oidc-agent not installed (Debian: oidc-agent-cli); oidc-token not measured")
        return None
    try:
        subprocess.run([BIN, "profile", "add", "obench", "--issuer", issuer, "--client-id",
                        "conf-post", "--client-secret-stdin", "--auth-method", "post",
                        "--scope", "openid email offline_access"], env=env, check=True,
                       capture_output=True, text=True, input="post-secret-123")
        run([BIN, "login", "obench"], env)
        raw = run(["secret-tool", "lookup", "service", "latchkey", "username",
                   f"{env['BENCH_KEYCHAIN_NS']}/account:obench/alice@example.test"]).stdout
        rt = json.loads(raw[1:])["refresh_token"]
        out = run(["oidc-agent", "--no-autoload"], env).stdout
        oenv = dict(env)
        for name in ("OIDC_SOCK", "OIDCD_PID"):
            oenv[name] = out.split(f"{name}=")[1].split(";")[0]
        run(["oidc-gen", "obench", f"--issuer={issuer}", "--client-id=conf-post",
             "--client-secret=post-secret-123", f"--rt={rt}",
             "--scope=openid email offline_access", "--redirect-uri=http://localhost:8080",
             "--pw-env", "--confirm-default", "--prompt=none", "--no-url-call", "--no-save"],
            dict(oenv, OIDC_ENCRYPTION_PW="bench"))
        for _ in range(5):
            run(["oidc-token", "obench"], oenv)
        return oenv
    except (subprocess.CalledProcessError, IndexError, KeyError, ValueError) as e:
        print(f"oidc-agent could not be set up ({e}); oidc-token not measured")
        return None


# Reads the refresh token of bench/curl through the engine's own keychain layout.
READ_RT = """
import json, subprocess
import os
name = os.environ["BENCH_KEYCHAIN_NS"] + "/account:bench/curl"
raw = subprocess.run(["secret-tool", "lookup", "service", "latchkey", "username", name],
                     capture_output=True, text=True, check=True).stdout
print(json.dumps({"rt": json.loads(raw[1:])["refresh_token"]}))
"""


def curl_login(issuer):
    """The same flow without latchkey: PKCE and state, a loopback listener, the scripted
    browser, curl for the code exchange."""
    verifier = secrets.token_urlsafe(32)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = secrets.token_urlsafe(16)
    got = {}
    done = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
            if "code" in q:
                got["code"] = q["code"][0]
                done.set()
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    t0 = time.perf_counter()
    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    redirect = f"http://127.0.0.1:{httpd.server_port}/callback"
    url = f"{issuer}/auth?" + urllib.parse.urlencode({
        "response_type": "code", "client_id": "public-app", "redirect_uri": redirect,
        "scope": "openid email offline_access", "state": state, "nonce": state,
        "code_challenge": challenge, "code_challenge_method": "S256", "prompt": "consent"})
    subprocess.Popen([BROWSER, url], stdout=subprocess.DEVNULL)
    done.wait(30)
    run(["curl", "-sS", "-X", "POST", f"{issuer}/token", "-H", "Accept: application/json",
         "-d", "grant_type=authorization_code", "-d", "client_id=public-app",
         "--data-urlencode", f"code={got['code']}", "--data-urlencode", f"redirect_uri={redirect}",
         "--data-urlencode", f"code_verifier={verifier}"])
    elapsed = time.perf_counter() - t0
    httpd.shutdown()
    return elapsed


if __name__ == "__main__":
    main()
