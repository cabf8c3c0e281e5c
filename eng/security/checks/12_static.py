"""12. Static checks: the security analyzers (the .NET analyzers' security rules, SecurityCodeScan) run as errors on
src/, every suppression of a security rule carries a written reason, and the dependencies are checked for known
vulnerabilities where the package source serves that data.

- configuration: Directory.Build.props sets AnalysisModeSecurity=All and TreatWarningsAsErrors and references
  SecurityCodeScan.VS2019 for every project; no project turns analyzers off.
- the analyzers bite: a throwaway project placed in the repository (so it gets the repository's Directory.Build.props,
  Directory.Packages.props and .editorconfig, nothing of its own) plants one flaw per rule family; its build must
  fail with each planted rule reported as an error.
- src/ builds (Release, incremental) with those analyzers as errors.
- suppressions: every `#pragma warning disable`, `[SuppressMessage]`, `.editorconfig`/`.globalconfig` severity
  lowered to none/silent/suggestion and `<NoWarn>` that touches a security rule (or all rules) has a written reason.
- dependencies: `dotnet list package --vulnerable --include-transitive` for every project, and `npm audit` for every
  npm package folder of the repository (tests/, eng/), each reported with whether its source served the data.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

from harness import ROOT, Row

# The security rules of the .NET analyzers (category Security) and every SecurityCodeScan rule.
SECURITY_RULE = re.compile(r"^(CA2100|CA2109|CA2119|CA2153|CA23[0-6]\d|CA30\d\d|CA3061|CA307[5-7]|CA3147|CA5[34]\d\d|SCS\d{4})$",
                           re.IGNORECASE)

# One flaw per rule family, each with the rule ids that must report it as an error.
CANARY = '''using System.Data.Common;
using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Xml;

namespace AnalyzerCanary;

internal static class Flaws
{
    internal static void Sql(DbCommand command, string input) => command.CommandText = "SELECT * FROM t WHERE a = '" + input + "'";

    internal static byte[] WeakHash(byte[] data)
    {
        using var md5 = MD5.Create();
        return md5.ComputeHash(data);
    }

    internal static SslProtocols OldTls() => SslProtocols.Tls11;

    internal static int WeakRandom() => new System.Random().Next();

    internal static void NoCertificateCheck() =>
        ServicePointManager.ServerCertificateValidationCallback = (_, _, _, _) => true;

    internal static XmlDocument Dtd(string path)
    {
        var document = new XmlDocument { XmlResolver = new XmlUrlResolver() };
        document.Load(path);
        return document;
    }

    internal static void Main()
    {
    }
}
'''
PLANTED = {"CA2100": "SQL built from input", "CA5351": "broken hash (MD5)", "CA5394": "insecure randomness",
           "CA5359": "certificate validation turned off", "CA5397": "deprecated TLS version",
           "SCS0007": "XML external entities (SecurityCodeScan)",
           "SCS0006": "weak hash (SecurityCodeScan)", "SCS0005": "weak random (SecurityCodeScan)",
           "SCS0004": "certificate validation turned off (SecurityCodeScan)"}


def run(ctx):
    yield configuration()
    yield from canary(ctx)
    yield build_src(ctx)
    yield suppressions()
    yield nuget_audit(ctx)
    yield from npm_audit(ctx)


def configuration() -> Row:
    props = (ROOT / "Directory.Build.props").read_text()
    wanted = {
        "AnalysisModeSecurity=All": re.search(r"<AnalysisModeSecurity>\s*All\s*</AnalysisModeSecurity>", props),
        "TreatWarningsAsErrors=true": re.search(r"<TreatWarningsAsErrors>\s*true\s*</TreatWarningsAsErrors>", props),
        "SecurityCodeScan.VS2019 (PrivateAssets all)": re.search(
            r'<PackageReference\s+Include="SecurityCodeScan\.VS2019"[^>]*PrivateAssets="all"', props),
    }
    version = re.search(r'Include="SecurityCodeScan\.VS2019"\s+Version="([^"]+)"', (ROOT / "Directory.Packages.props").read_text())
    off = []
    for project in [*ROOT.glob("src/**/*.csproj"), *ROOT.glob("src/**/*.props"), ROOT / "Directory.Build.props"]:
        text = project.read_text()
        for m in re.finditer(r"<(RunAnalyzers|RunAnalyzersDuringBuild|EnableNETAnalyzers|TreatWarningsAsErrors)>\s*false\s*<", text, re.I):
            off.append(f"{project.relative_to(ROOT)}: {m[1]}=false")
        for m in re.finditer(r"<AnalysisModeSecurity>\s*(\w+)\s*<", text):
            if m[1].lower() != "all":
                off.append(f"{project.relative_to(ROOT)}: AnalysisModeSecurity={m[1]}")
    present = [k for k, v in wanted.items() if v]
    return Row("analyzers configured as errors",
               "Directory.Build.props and every src project file read for the analyzer settings",
               f"set: {', '.join(present) or 'none'} (SecurityCodeScan.VS2019 {version[1] if version else 'not pinned'}); "
               f"turned off anywhere in src: {', '.join(off) or 'nowhere'}",
               len(present) == len(wanted) and bool(version) and not off)


def canary(ctx):
    folder = ROOT / "artifacts" / "security" / "analyzer-canary"  # inside the repository, ignored by git
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    try:
        (folder / "AnalyzerCanary.csproj").write_text(
            '<Project Sdk="Microsoft.NET.Sdk">\n  <PropertyGroup>\n    <OutputType>Exe</OutputType>\n'
            '  </PropertyGroup>\n</Project>\n')
        (folder / "Flaws.cs").write_text(CANARY)
        t0 = time.monotonic()
        r = subprocess.run(["dotnet", "build", str(folder), "-c", "Release", "-nologo", "-clp:NoSummary", "-v", "q"],
                           capture_output=True, text=True, timeout=600)
        seconds = time.monotonic() - t0
        out = r.stdout + r.stderr
        (ctx.work / "analyzer-canary.log").write_text(out)
        errors = set(re.findall(r"error ((?:CA|SCS)\d{4})", out))
        warnings_only = set(re.findall(r"warning ((?:CA|SCS)\d{4})", out)) - errors
        caught = [rule for rule in PLANTED if rule in errors]
        missed = [f"{rule} ({PLANTED[rule]})" for rule in PLANTED if rule not in errors]
        yield Row("analyzers bite (planted flaws)",
                  f"a throwaway project in the repository with {len(PLANTED)} planted flaws ({', '.join(PLANTED)}), "
                  f"built with the repository's settings in {seconds:.0f} s",
                  f"build {'failed' if r.returncode else 'SUCCEEDED'}; reported as errors: {len(caught)}/{len(PLANTED)}"
                  f"{'; missed: ' + ', '.join(missed) if missed else ''}"
                  f"{'; only warnings: ' + ', '.join(sorted(warnings_only)) if warnings_only else ''}",
                  r.returncode != 0 and not missed)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def build_src(ctx) -> Row:
    t0 = time.monotonic()
    r = subprocess.run(["dotnet", "build", str(ROOT / "src/AgentHub"), "-c", "Release", "-nologo", "-clp:NoSummary",
                        "-v", "q"], capture_output=True, text=True, timeout=900)
    seconds = time.monotonic() - t0
    out = r.stdout + r.stderr
    (ctx.work / "build-src.log").write_text(out)
    errors = sorted(set(re.findall(r"error ([A-Z]+\d+)", out)))
    warnings = sorted(set(re.findall(r"warning ([A-Z]+\d+)", out)))
    return Row("src builds with the analyzers as errors",
               f"dotnet build src/AgentHub (and src/AgentHub.Client) -c Release, incremental, in {seconds:.0f} s",
               f"exit {r.returncode}; errors: {', '.join(errors) or 'none'}; warnings: {', '.join(warnings) or 'none'}",
               r.returncode == 0 and not errors)


def suppressions() -> Row:
    """Every suppression that touches a security rule (or every rule), and whether it gives a reason."""
    found: list[tuple[str, str, bool]] = []  # (where, what, has a reason)
    files = [p for p in ROOT.rglob("*") if p.is_file() and not ignored(p) and (
        p.suffix in (".cs", ".globalconfig", ".csproj", ".props", ".targets") or p.name == ".editorconfig")]
    for path in files:
        rel = str(path.relative_to(ROOT))
        if path.suffix == ".cs":
            lines = path.read_text(errors="replace").splitlines()
            for n, line in enumerate(lines, 1):
                m = re.search(r"#pragma\s+warning\s+disable\b([^/]*)(//\s*(\S.*))?", line)
                if m:
                    ids = re.findall(r"[A-Za-z]+\d+", m[1])
                    if not ids or any(SECURITY_RULE.match(i) for i in ids):
                        found.append((f"{rel}:{n}", f"#pragma warning disable {' '.join(ids) or '(all)'}", bool(m[3])))
                for s in re.finditer(r"SuppressMessage\(([^)]*)\)", line):
                    args = s[1]
                    ids = re.findall(r"\b((?:CA|SCS)\d{4})", args)
                    if any(SECURITY_RULE.match(i) for i in ids) or re.search(r'"Security"', args):
                        reason = re.search(r'Justification\s*=\s*"([^"]*\w[^"]*)"', args)
                        found.append((f"{rel}:{n}", f"[SuppressMessage {', '.join(ids)}]", bool(reason)))
        elif path.name == ".editorconfig" or path.suffix == ".globalconfig":
            lines = path.read_text(errors="replace").splitlines()
            for n, line in enumerate(lines, 1):
                m = re.match(r"\s*(dotnet_diagnostic\.(\w+)\.severity|dotnet_analyzer_diagnostic\.(?:category-(\w+)\.)?severity)"
                             r"\s*=\s*(none|silent|suggestion)\b\s*([#;]\s*(\S.*))?", line, re.I)
                if not m:
                    continue
                rule, category, reason = m[2], m[3], m[6]
                if (rule and SECURITY_RULE.match(rule)) or (not rule and (category in (None, "Security"))):
                    found.append((f"{rel}:{n}", f"{m[1]} = {m[4]}", bool(reason)))
        elif path.suffix in (".csproj", ".props", ".targets"):
            text = path.read_text(errors="replace")
            for m in re.finditer(r"(<!--((?:(?!-->).)*)-->\s*)?<NoWarn>([^<]*)</NoWarn>", text, re.S):
                ids = re.findall(r"[A-Z]+\d+", m[3])
                if any(SECURITY_RULE.match(i) for i in ids):
                    n = text[:m.start(3)].count("\n") + 1
                    found.append((f"{rel}:{n}", f"<NoWarn>{m[3].strip()}</NoWarn>", bool(m[2] and m[2].strip())))
    bare = [f"{where} {what}" for where, what, reason in found if not reason]
    return Row("suppressions of security rules have a written reason",
               f"{len(files)} files of the repository read (C#, .editorconfig/.globalconfig, project files) for "
               f"#pragma warning disable, [SuppressMessage], lowered severities and <NoWarn>",
               f"{len(found)} suppressions of security rules, {len(bare)} without a reason"
               f"{': ' + '; '.join(bare[:8]) if bare else ''}"
               f"{'; with reasons: ' + '; '.join(f'{w} {x}' for w, x, r in found if r) if found and not bare else ''}",
               not bare)


def ignored(path: Path) -> bool:
    parts = path.relative_to(ROOT).parts
    return any(p in ("bin", "obj", "node_modules", ".git", "artifacts", "TestResults", "BenchmarkDotNet.Artifacts")
               for p in parts)


def nuget_audit(ctx) -> Row:
    t0 = time.monotonic()
    r = subprocess.run(["dotnet", "list", str(ROOT / "AgentHub.slnx"), "package", "--vulnerable",
                        "--include-transitive", "--format", "json"], capture_output=True, text=True, timeout=600)
    seconds = time.monotonic() - t0
    (ctx.work / "dotnet-list-vulnerable.log").write_text(r.stdout + r.stderr)
    try:
        data = json.loads(r.stdout)
    except json.JSONDecodeError:
        return Row("NuGet dependencies: known vulnerabilities", "dotnet list package --vulnerable --include-transitive",
                   f"could not run (exit {r.returncode}): {(r.stdout + r.stderr)[-300:].strip()}", False)
    sources = data.get("sources", [])
    problems = [p.get("text", "") for p in data.get("problems", [])]
    vulnerable, projects = [], 0
    for project in data.get("projects", []):
        projects += 1
        for framework in project.get("frameworks", []):
            for kind in ("topLevelPackages", "transitivePackages"):
                for package in framework.get(kind, []):
                    for v in package.get("vulnerabilities", []):
                        vulnerable.append(f"{package['id']} {package.get('resolvedVersion')} ({v.get('severity')}, "
                                          f"{v.get('advisoryurl')}) in {Path(project['path']).stem}")
    no_data = [p for p in problems if re.search(r"vulnerab|audit", p, re.I)]
    # dotnet list says "no vulnerable packages" also when no source serves the data: ask each source's service index
    served_by = [s for s in sources if serves_vulnerabilities(s)]
    if not served_by:
        no_data.append(f"no source's service index has a VulnerabilityInfo resource ({', '.join(sources)}), so "
                       f"'no vulnerable packages' carries no information")
    served = not no_data
    return Row("NuGet dependencies: known vulnerabilities",
               f"dotnet list package --vulnerable --include-transitive on the solution ({projects} projects, "
               f"sources: {', '.join(sources) or 'none named'}) in {seconds:.0f} s",
               f"vulnerability data {'served by the source' if served else 'NOT served: ' + '; '.join(no_data)[:200]}; "
               f"vulnerable packages: {len(sorted(set(vulnerable)))}"
               f"{' (' + '; '.join(sorted(set(vulnerable))[:6]) + ')' if vulnerable else ''}",
               r.returncode == 0 and not vulnerable)


def serves_vulnerabilities(source: str) -> bool:
    if not source.startswith("http"):
        return False
    try:
        with urllib.request.urlopen(source, timeout=20) as r:
            index = json.load(r)
    except (OSError, ValueError):
        return False
    return any(str(res.get("@type", "")).startswith("VulnerabilityInfo") for res in index.get("resources", []))


def npm_audit(ctx):
    folders = sorted({p.parent for p in [*ROOT.glob("tests/**/package-lock.json"), *ROOT.glob("eng/**/package-lock.json")]
                      if not ignored(p)})
    for folder in folders:
        rel = folder.relative_to(ROOT)
        t0 = time.monotonic()
        r = subprocess.run(["npm", "audit", "--json", "--package-lock-only"], cwd=folder, capture_output=True,
                           text=True, timeout=300)
        seconds = time.monotonic() - t0
        (ctx.work / f"npm-audit-{str(rel).replace('/', '-')}.log").write_text(r.stdout + r.stderr)
        try:
            data = json.loads(r.stdout)
        except json.JSONDecodeError:
            data = {"error": {"summary": (r.stdout + r.stderr)[-200:]}}
        if "error" in data:
            # the registry answers the audit request with an error: no verdict either way, said as it is
            why = data.get("message") or data["error"].get("summary") or "no answer"
            yield Row(f"npm dependencies: {rel}", f"npm audit --package-lock-only in {seconds:.0f} s",
                      f"audit data NOT served by the registry ({str(why)[:160]}): no vulnerability verdict", True)
            continue
        meta = data.get("metadata", {})
        counts = meta.get("vulnerabilities", {})
        total_deps = meta.get("dependencies", {}).get("total", 0)
        names = [f"{name} ({v.get('severity')})" for name, v in data.get("vulnerabilities", {}).items()]
        serious = sum(counts.get(s, 0) for s in ("moderate", "high", "critical"))
        yield Row(f"npm dependencies: {rel}",
                  f"npm audit --package-lock-only ({total_deps} packages in the lock file) in {seconds:.0f} s",
                  f"audit data served by the registry; vulnerable: {sum(counts.get(s, 0) for s in counts if s != 'total')}"
                  f" ({', '.join(f'{k} {v}' for k, v in counts.items() if v and k != 'total') or 'none'})"
                  f"{': ' + ', '.join(names[:8]) if names else ''}",
                  serious == 0)
