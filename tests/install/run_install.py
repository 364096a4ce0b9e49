#!/usr/bin/env python3
"""run_install.py — the Debian package: built with CPack, inspected, installed and run.

  run_install.py --workdir build/install-deb [--build DIR] [--jobs N]

Builds the .deb as `make deb` does: in DIR when DIR is a build directory configured with
CMAKE_INSTALL_PREFIX=/usr, else in WORKDIR/build, configured here (-DCMAKE_INSTALL_PREFIX=/usr,
Release, only the tokenwatch target built), then `cpack -G DEB`. Then:
  - control fields: Package, Version (project()), Section net, Maintainer, Depends computed by
    dpkg-shlibdeps naming libpcap, libssl, libndpi, libjansson, libyaml, libhiredis, zlib, libc;
  - the file list, exactly: /usr/bin/tokenwatch, /etc/tokenwatch/tokenwatch.yaml, the revocation
    file, the man page, the systemd units, and an empty /etc/tokenwatch/keys (no key material:
    no demo or test key is packaged); conffiles = the files under /etc/tokenwatch; the
    maintainer scripts are executable;
  - the man page renders without a groff warning; the unit passes `systemd-analyze verify`
    (skipped when systemd-analyze is absent).
As root with CI set in the environment (a fresh CI machine): `dpkg -i` (`apt-get -f install`
for missing dependencies), `tokenwatch --version` from /usr/bin, a run over pcaps/demo with NO
-c (the installed /etc/tokenwatch/tokenwatch.yaml must be found): it trusts no demo key, so no
token verifies and the Storm-0558 token is still key_revoked; the same binary with the demo
configuration (etc/demo/tokenwatch.yaml) meets tests/e2e/demo/case.json; `keys check` and
`keys update` on the installed configuration through provider_mirror.py (every provider played
on loopback over TLS); `man -w tokenwatch`, then `dpkg --purge`, checking nothing is left (the
fetched key sets included).
Otherwise: `dpkg-deb -x` into a temporary root and the same runs with -c pointing there.
Exit 0 pass, 1 fail, 77 skip (cmake, cpack, dpkg-deb or dpkg-shlibdeps missing).
Python >= 3.9, stdlib only.
"""
import argparse
import glob
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import run_case  # noqa: E402  (matches(): the e2e case checks)
sys.path.insert(0, os.path.join(ROOT, "tests", "install"))
import provider_mirror  # noqa: E402  (keys check / keys update on the installed configuration)

SKIP = 77
failures = []
FILES = (["/usr/bin/tokenwatch", "/etc/tokenwatch/tokenwatch.yaml", "/etc/tokenwatch/revoked-keys.txt"] +
         ["/usr/share/man/man8/tokenwatch.8.gz", "/usr/lib/systemd/system/tokenwatch@.service",
          "/usr/lib/systemd/system/tokenwatch-keys-update.service",
          "/usr/lib/systemd/system/tokenwatch-keys-update.timer"])
CONFFILES = [f for f in FILES if f.startswith("/etc/")]
DEPENDS = ["libc6", "libpcap", "libssl", "libndpi", "libjansson", "libyaml", "libhiredis", "zlib1g", "libcurl"]


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail}"[:2000]))
    if not cond:
        failures.append(name)
    return cond


def sh(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=kw.pop("timeout", 600), **kw)


def project_version():
    m = re.search(r"project\(tokenwatch VERSION ([0-9.]+)", open(os.path.join(ROOT, "CMakeLists.txt")).read())
    return m.group(1)


def cache_value(build, key):
    try:
        for line in open(os.path.join(build, "CMakeCache.txt")):
            if line.startswith(key + ":"):
                return line.split("=", 1)[1].strip()
    except OSError:
        pass
    return None


def build_deb(build, workdir, jobs):
    """Returns the path of the .deb, or None (the reason printed)."""
    if not (build and cache_value(build, "CMAKE_INSTALL_PREFIX") == "/usr"):
        build = os.path.join(workdir, "build")
        r = sh(["cmake", "-S", ROOT, "-B", build, "-DCMAKE_INSTALL_PREFIX=/usr",
                "-DCMAKE_BUILD_TYPE=Release", "-DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON"])
        if r.returncode != 0:
            print("cmake configure failed:\n" + r.stdout[-2000:] + r.stderr[-2000:])
            return None
    r = sh(["cmake", "--build", build, "--target", "tokenwatch", "-j", str(jobs)])
    if r.returncode != 0:
        print("build failed:\n" + r.stdout[-3000:] + r.stderr[-3000:])
        return None
    for old in glob.glob(os.path.join(build, "tokenwatch_*.deb")):
        os.remove(old)
    r = sh(["cpack", "-G", "DEB"], cwd=build)
    debs = glob.glob(os.path.join(build, "tokenwatch_*.deb"))
    if r.returncode != 0 or len(debs) != 1:
        print("cpack failed:\n" + r.stdout[-3000:] + r.stderr[-3000:])
        return None
    return debs[0]


def check_control(deb, tmp):
    f = {}
    for line in sh(["dpkg-deb", "-f", deb]).stdout.splitlines():
        if ":" in line and not line.startswith(" "):
            k, v = line.split(":", 1)
            f[k] = v.strip()
    arch = sh(["dpkg", "--print-architecture"]).stdout.strip()
    check("control: Package tokenwatch, Version of project(), Architecture " + arch,
          f.get("Package") == "tokenwatch" and f.get("Version") == project_version() and
          f.get("Architecture") == arch, f)
    check("control: Section net, Priority optional, a Maintainer",
          f.get("Section") == "net" and f.get("Priority") == "optional" and
          re.match(r".+ <[^>]+@[^>]+>$", f.get("Maintainer", "")) is not None, f)
    deps = [d.strip().split()[0] for d in f.get("Depends", "").split(",") if d.strip()]
    missing = [want for want in DEPENDS if not any(d.startswith(want) for d in deps)]
    check("control: Depends (dpkg-shlibdeps) names every runtime library", not missing,
          f"missing {missing} in {f.get('Depends')}")
    check("control: Depends carries versions (>= ...)", "(>=" in f.get("Depends", ""), f.get("Depends"))

    listing = sh(["dpkg-deb", "-c", deb]).stdout.splitlines()
    files = sorted(l.split()[-1][1:] for l in listing if not l.startswith("d"))
    check("files: exactly the binary, config, revocation file, man page and units (no key "
          "material)", files == sorted(FILES), f"{files} != {sorted(FILES)}")
    dirs = [l.split()[-1][1:] for l in listing if l.startswith("d")]
    check("files: /etc/tokenwatch/keys/ is there, empty, for keys update",
          "/etc/tokenwatch/keys/" in dirs and
          not any(f.startswith("/etc/tokenwatch/keys/") for f in files), dirs)
    modes = {l.split()[-1][1:]: l.split()[0] for l in listing}
    check("files: the binary is 0755 root, the config 0644",
          modes.get("/usr/bin/tokenwatch") == "-rwxr-xr-x" and
          modes.get("/etc/tokenwatch/tokenwatch.yaml") == "-rw-r--r--" and
          all(" root/root " in l for l in listing), listing)

    ctl = os.path.join(tmp, "control")
    sh(["dpkg-deb", "-e", deb, ctl])
    conff = open(os.path.join(ctl, "conffiles")).read().split() if os.path.exists(
        os.path.join(ctl, "conffiles")) else []
    check("control: conffiles are the files under /etc/tokenwatch", sorted(conff) == sorted(CONFFILES),
          conff)
    scripts = {s: os.path.exists(os.path.join(ctl, s)) and os.access(os.path.join(ctl, s), os.X_OK)
               for s in ("postinst", "prerm", "postrm")}
    check("control: postinst, prerm, postrm present and executable", all(scripts.values()), scripts)
    for s in scripts:
        if scripts[s]:
            r = sh(["sh", "-n", os.path.join(ctl, s)])
            check(f"control: {s} is valid sh", r.returncode == 0, r.stderr)


def check_manpage(path):
    text = gzip.open(path, "rt").read()
    check("man page: NAME, SYNOPSIS, OPTIONS, SIGNALS, FILES, EXIT STATUS, SEE ALSO",
          all(f".SH {s}" in text for s in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS",
                                          "CHECK-TOKEN", "CONFIGURATION", "SIGNALS", "FILES",
                                          "EXIT STATUS", "SEE ALSO")), text[:300])
    if shutil.which("groff"):
        r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z"], input=text, text=True,
                           capture_output=True, timeout=60)
        check("man page: groff renders it without a warning", r.returncode == 0 and r.stderr == "",
              r.stderr)


def check_unit(unit, binary, tmp, man):
    if not shutil.which("systemd-analyze"):
        print("skip unit check: systemd-analyze absent")
        return
    text = open(unit).read()
    check("unit: ExecStart runs the sensor on the instance's interface with the installed config",
          "ExecStart=/usr/bin/tokenwatch -c /etc/tokenwatch/tokenwatch.yaml -i %i -l /var/log/tokenwatch"
          in text, text)
    check("unit: capabilities instead of root, DynamicUser, logs directory, reload by SIGHUP",
          "AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN" in text and
          "CapabilityBoundingSet=CAP_NET_RAW CAP_NET_ADMIN" in text and
          "DynamicUser=yes" in text and "LogsDirectory=tokenwatch" in text and
          "ExecReload=/bin/kill -HUP $MAINPID" in text and "\nUser=" not in text, text)
    d = os.path.join(tmp, "units")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "tokenwatch@.service"), "w") as f:
        f.write(text.replace("/usr/bin/tokenwatch", binary))
    args = ["systemd-analyze", "verify"] + ([] if man else ["--man=no"])
    r = sh(args + [os.path.join(d, "tokenwatch@lo.service")], cwd=d)
    check("unit: systemd-analyze verify tokenwatch@lo.service is clean",
          r.returncode == 0 and r.stdout.strip() == "" and r.stderr.strip() == "",
          r.stdout + r.stderr)


def check_update_units(unitdir, binary, tmp, man):
    """tokenwatch-keys-update.service/.timer: keys update on the installed configuration, the
    sensors reloaded after it, daily with a random delay; both pass systemd-analyze verify."""
    svc = open(os.path.join(unitdir, "tokenwatch-keys-update.service")).read()
    tmr = open(os.path.join(unitdir, "tokenwatch-keys-update.timer")).read()
    check("keys-update unit: keys update on the installed config, then the sensors reloaded",
          "ExecStart=/usr/bin/tokenwatch keys update -c /etc/tokenwatch/tokenwatch.yaml" in svc and
          "ExecStopPost=-/bin/systemctl reload tokenwatch@*.service" in svc and
          "ReadWritePaths=/etc/tokenwatch\n" in svc, svc)
    check("keys-update timer: a minute after it starts (the first fetch), then daily, "
          "randomized, persistent", "OnActiveSec=1min" in tmr and
          "OnCalendar=daily" in tmr and "RandomizedDelaySec=" in tmr and "Persistent=yes" in tmr, tmr)
    if not shutil.which("systemd-analyze"):
        print("skip keys-update unit check: systemd-analyze absent")
        return
    d = os.path.join(tmp, "units-update")
    os.makedirs(d, exist_ok=True)
    for name, text in (("tokenwatch-keys-update.service", svc), ("tokenwatch-keys-update.timer", tmr)):
        with open(os.path.join(d, name), "w") as f:
            f.write(text.replace("/usr/bin/tokenwatch", binary))
    args = ["systemd-analyze", "verify"] + ([] if man else ["--man=no"])
    r = sh(args + [os.path.join(d, "tokenwatch-keys-update.timer"),
                   os.path.join(d, "tokenwatch-keys-update.service")], cwd=d)
    check("keys-update units: systemd-analyze verify is clean",
          r.returncode == 0 and r.stdout.strip() == "" and r.stderr.strip() == "",
          r.stdout + r.stderr)


def check_run(binary, config, tmp, label):
    """The demo through the packaged binary; config None: the installed default must be found."""
    run = os.path.join(tmp, "run-" + label)
    os.makedirs(run)
    os.symlink(os.path.join(ROOT, "pcaps"), os.path.join(run, "pcaps"))  # pcap_filename as in case.json
    r = sh([binary, "--version"])
    check(f"{label}: tokenwatch --version", r.returncode == 0 and
          r.stdout == f"tokenwatch {project_version()}\n", r.stdout + r.stderr)
    # The installed configuration: real providers, no key fetched yet, no demo key.
    cmd = [binary] + (["-c", config] if config else []) + ["-r", "pcaps/demo", "-l", run]
    r = sh(cmd, cwd=run, timeout=60)
    check(f"{label}: the demo capture under the installed configuration exits 0 with its "
          f"summary", r.returncode == 0 and
          "tokenwatch: 127 packets, 0 dropped" in r.stderr, r.stderr)
    try:
        recs = [json.loads(l) for l in open(os.path.join(run, "eve.json"))]
    except (OSError, ValueError) as e:
        check(f"{label}: eve.json written", False, e)
        recs = []
    toks = [x["token"] for x in recs if x.get("event_type") == "token"]
    check(f"{label}: the installed configuration trusts no demo key: none of the demo's "
          f"{len(toks)} tokens verifies, the Storm-0558 one is still key_revoked",
          len(toks) == 12 and not any(x.get("signature") == "valid" for x in toks) and
          sum("key_revoked" in x.get("findings", []) for x in toks) == 1, toks)
    # The demo configuration: the binary judges the demo as the e2e case says.
    demo = os.path.join(run, "demo")
    os.makedirs(demo)
    r = sh([binary, "-c", os.path.join(ROOT, "etc", "demo", "tokenwatch.yaml"), "-r",
            "pcaps/demo", "-l", demo], cwd=run, timeout=60)
    check(f"{label}: the demo run (etc/demo/tokenwatch.yaml) exits 0 with its summary",
          r.returncode == 0 and r.stderr.startswith("tokenwatch: 127 packets, 0 dropped") and
          "4 alerts" in r.stderr, r.stderr)
    case = json.load(open(os.path.join(ROOT, "tests", "e2e", "demo", "case.json")))
    try:
        recs = [json.loads(l) for l in open(os.path.join(demo, "eve.json"))]
    except (OSError, ValueError) as e:
        check(f"{label}: eve.json written", False, e)
        return
    bad = [c["match"] for c in case["checks"]
           if sum(1 for x in recs if run_case.matches(x, c)) != c["count"]]
    check(f"{label}: eve.json meets every check of tests/e2e/demo/case.json "
          f"({len(case['checks'])})", not bad, bad[:2])
    provider_mirror.check_installed_keys(binary, config or "/etc/tokenwatch/tokenwatch.yaml",
                                         check, label)
    r = sh([binary, "--help"])
    check(f"{label}: the binary's default configuration is /etc/tokenwatch/tokenwatch.yaml",
          "/etc/tokenwatch/tokenwatch.yaml" in r.stdout, r.stdout)


def installed(pkg):
    r = sh(["dpkg-query", "-W", "-f=${Status}", pkg])
    return r.returncode == 0 and "install ok installed" in r.stdout


def install_mode(deb, tmp):
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    r = sh(["dpkg", "-i", deb], env=env)
    if r.returncode != 0:
        r2 = sh(["apt-get", "-f", "install", "-y", "-qq", "--no-install-recommends"], env=env)
        r = r2 if r2.returncode != 0 else r
        ok = r2.returncode == 0 and installed("tokenwatch")
    else:
        ok = installed("tokenwatch")
    if not check("install: dpkg -i", ok, r.stdout[-1500:] + r.stderr[-1500:]):
        return
    try:
        check_run("/usr/bin/tokenwatch", None, tmp, "installed")
        r = sh(["man", "-w", "tokenwatch"]) if shutil.which("man") else None
        check("installed: man -w tokenwatch finds the page",
              (r is not None and r.returncode == 0 and
               r.stdout.strip() == "/usr/share/man/man8/tokenwatch.8.gz") or
              (r is None and os.path.exists("/usr/share/man/man8/tokenwatch.8.gz")),
              r and (r.stdout + r.stderr))
        check_unit("/usr/lib/systemd/system/tokenwatch@.service", "/usr/bin/tokenwatch", tmp,
                   man=bool(shutil.which("man")))
        check_update_units("/usr/lib/systemd/system", "/usr/bin/tokenwatch", tmp,
                           man=bool(shutil.which("man")))
        listed = sh(["dpkg", "-L", "tokenwatch"]).stdout.split()
        check("installed: dpkg -L lists every file", all(f in listed for f in FILES), listed)
    finally:
        r = sh(["dpkg", "--purge", "tokenwatch"], env=env)
        left = [f for f in FILES if os.path.exists(f)] + \
               (["/etc/tokenwatch"] if os.path.exists("/etc/tokenwatch") else [])
        check("purge: dpkg --purge leaves nothing behind", r.returncode == 0 and not left and
              not installed("tokenwatch"), (r.stderr, left))


def extract_mode(deb, tmp):
    root = os.path.join(tmp, "root")
    r = sh(["dpkg-deb", "-x", deb, root])
    if not check("extract: dpkg-deb -x", r.returncode == 0, r.stderr):
        return
    binary = root + "/usr/bin/tokenwatch"
    ldd = sh(["ldd", binary]).stdout
    check("extract: every shared library resolves", "not found" not in ldd, ldd)
    check_run(binary, root + "/etc/tokenwatch/tokenwatch.yaml", tmp, "extracted")
    check_unit(root + "/usr/lib/systemd/system/tokenwatch@.service", binary, tmp, man=False)
    check_update_units(root + "/usr/lib/systemd/system", binary, tmp, man=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--build", help="a build directory configured with CMAKE_INSTALL_PREFIX=/usr")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    a = ap.parse_args()
    for tool in ("cmake", "cpack", "dpkg-deb", "dpkg-shlibdeps"):
        if not shutil.which(tool):
            print(f"install_deb: SKIP: {tool} is missing (Debian packages cmake, dpkg-dev)")
            return SKIP
    workdir = os.path.abspath(a.workdir)
    os.makedirs(workdir, exist_ok=True)
    deb = build_deb(a.build and os.path.abspath(a.build), workdir, a.jobs)
    if not deb:
        return 1
    print(f"package: {deb}: {os.path.getsize(deb)} bytes")
    print("Depends: " + sh(["dpkg-deb", "-f", deb, "Depends"]).stdout.strip())
    with tempfile.TemporaryDirectory(prefix="tw-install-") as tmp:
        check_control(deb, tmp)
        xroot = os.path.join(tmp, "man")
        sh(["dpkg-deb", "-x", deb, xroot])
        check_manpage(xroot + "/usr/share/man/man8/tokenwatch.8.gz")
        if os.geteuid() == 0 and os.environ.get("CI") and shutil.which("dpkg"):
            if installed("tokenwatch"):
                print("install_deb: tokenwatch is already installed here: checking the extracted "
                      "package instead of installing over it")
                extract_mode(deb, tmp)
            else:
                extract_mode(deb, tmp)
                install_mode(deb, tmp)
        else:
            print("install_deb: not root with CI set: checking the extracted package "
                  "(dpkg -i runs on CI machines)")
            extract_mode(deb, tmp)
    print(f"install_deb: {len(failures)} failed" if failures else "install_deb: all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
