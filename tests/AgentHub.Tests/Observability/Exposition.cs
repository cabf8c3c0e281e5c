using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using AgentHub.Tests.Infrastructure;

namespace AgentHub.Tests.Observability;

/// <summary>Reads a Prometheus text exposition the way a test needs it: sample → value, and the metric names.</summary>
internal static partial class Exposition
{
    /// <summary>Every sample line, keyed by its name and labels exactly as written (<c>x_total{reason="malformed"}</c>).</summary>
    public static Dictionary<string, double> Samples(string text)
    {
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var space = line.LastIndexOf(' ');
            var value = line[(space + 1)..];
            samples[line[..space]] = value == "+Inf" ? double.PositiveInfinity : double.Parse(value, CultureInfo.InvariantCulture);
        }

        return samples;
    }

    /// <summary>The distinct sample names (<c>x_bucket</c>, <c>x_sum</c>, <c>x_count</c> for a histogram).</summary>
    public static HashSet<string> Names(string text) =>
        [.. Samples(text).Keys.Select(k => k.Split('{')[0])];

    /// <summary>Metric names a PromQL expression selects: not functions, aggregations, keywords, labels, strings or Grafana variables.</summary>
    public static HashSet<string> MetricNames(string promQl)
    {
        var expr = StringLiteral().Replace(promQl, "\"\"");
        expr = GrafanaVariable().Replace(expr, "1m");
        expr = Braces().Replace(expr, "{}");
        expr = Brackets().Replace(expr, "[]");
        expr = LabelList().Replace(expr, " ");
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match m in Identifier().Matches(expr))
        {
            var rest = expr.AsSpan(m.Index + m.Length).TrimStart();
            if ((rest.Length > 0 && rest[0] == '(') || Keywords.Contains(m.Value))
            {
                continue; // a function or aggregation, or an operator word
            }

            names.Add(m.Value);
        }

        return names;
    }

    private static readonly HashSet<string> Keywords =
        ["and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan", "Inf", "NaN"];

    [GeneratedRegex("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'")]
    private static partial Regex StringLiteral();

    [GeneratedRegex(@"\$\{?\w+\}?")]
    private static partial Regex GrafanaVariable();

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex Braces();

    [GeneratedRegex(@"\[[^\]]*\]")]
    private static partial Regex Brackets();

    [GeneratedRegex(@"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")]
    private static partial Regex LabelList();

    [GeneratedRegex(@"(?<![\w.:])[a-zA-Z_:][a-zA-Z0-9_:]*")]
    private static partial Regex Identifier();
}

/// <summary>Runs the tools of Debian's <c>prometheus</c> package (eng/test.sh installs it).</summary>
internal static class PrometheusTools
{
    public const string Promtool = "/usr/bin/promtool";
    public const string Server = "/usr/bin/prometheus";

    public static string Require(string path) =>
        File.Exists(path) ? path : throw new InvalidOperationException($"{path} is missing: install the Debian package 'prometheus' (eng/test.sh does).");

    public static async Task<(int ExitCode, string Stdout, string Stderr)> PromtoolAsync(string workingDirectory, string? stdin, params string[] args)
    {
        var info = new ProcessStartInfo(Require(Promtool))
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(cts.Token);
        var result = (process.ExitCode, await stdout, await stderr);
        TestArtifacts.Log($"promtool {string.Join(' ', args)} -> {result.ExitCode}\n{result.Item2}\n{result.Item3}");
        return result;
    }
}
