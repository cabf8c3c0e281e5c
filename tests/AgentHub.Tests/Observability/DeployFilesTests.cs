using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Text.RegularExpressions;
using AgentHub.Observability;
using AgentHub.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AgentHub.Tests.Observability;

/// <summary>deploy/prometheus/alerts.yml and deploy/grafana/agenthub-dashboard.json, checked by promtool and against the live exposition.</summary>
public sealed partial class DeployFilesTests
{
    [Fact]
    public async Task Alert_rules_pass_promtool_check_rules()
    {
        var (exit, stdout, stderr) = await PrometheusTools.PromtoolAsync(DeployFiles.PrometheusDir, null, "check", "rules", "alerts.yml");

        Assert.True(exit == 0, $"promtool check rules: exit {exit}\n{stdout}\n{stderr}");
        Assert.Contains("SUCCESS", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Alert_rules_pass_their_unit_tests()
    {
        var (exit, stdout, stderr) = await PrometheusTools.PromtoolAsync(DeployFiles.PrometheusDir, null, "test", "rules", "alerts.test.yml");

        Assert.True(exit == 0, $"promtool test rules: exit {exit}\n{stdout}\n{stderr}");
        Assert.Contains("SUCCESS", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Alert_rules_cover_what_the_issue_asks_for()
    {
        var rules = File.ReadAllText(Path.Combine(DeployFiles.PrometheusDir, "alerts.yml"));
        var tests = File.ReadAllText(Path.Combine(DeployFiles.PrometheusDir, "alerts.test.yml"));

        foreach (var alert in new[]
        {
            "AgentHubAuditWriteFailures", "AgentHubAuthFailureSpike", "AgentHubPolicyDenialSpike", "AgentHubUpstreamErrorRate",
            "AgentHubRelayLatencyBudgetBurnFast", "AgentHubRelayLatencyBudgetBurnSlow",
        })
        {
            Assert.Contains($"alert: {alert}\n", rules, StringComparison.Ordinal);
            Assert.Contains($"alertname: {alert}\n", tests, StringComparison.Ordinal); // each one has a unit test
        }
    }

    [Fact]
    public void Dashboard_is_a_grafana_dashboard_with_a_prometheus_datasource_variable_and_the_panels_asked_for()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(DeployFiles.DashboardPath));
        var root = json.RootElement;

        Assert.False(string.IsNullOrEmpty(root.GetProperty("title").GetString()));
        Assert.False(string.IsNullOrEmpty(root.GetProperty("uid").GetString()));
        Assert.True(root.GetProperty("schemaVersion").GetInt32() >= 36);
        var variable = root.GetProperty("templating").GetProperty("list").EnumerateArray()
            .Single(v => v.GetProperty("type").GetString() == "datasource");
        Assert.Equal("prometheus", variable.GetProperty("query").GetString());
        var datasourceRef = "${" + variable.GetProperty("name").GetString() + "}";

        var panels = root.GetProperty("panels").EnumerateArray().ToList();
        var ids = panels.Select(p => p.GetProperty("id").GetInt32()).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        var rows = panels.Where(p => p.GetProperty("type").GetString() == "row").Select(p => p.GetProperty("title").GetString()).ToList();
        Assert.Equal(["Traffic", "Errors", "Latency", "Security signals", "Audit health", "Process"], rows);

        foreach (var panel in panels.Where(p => p.GetProperty("type").GetString() != "row"))
        {
            var title = panel.GetProperty("title").GetString();
            Assert.Equal(datasourceRef, panel.GetProperty("datasource").GetProperty("uid").GetString());
            Assert.Equal("prometheus", panel.GetProperty("datasource").GetProperty("type").GetString());
            Assert.NotEmpty(panel.GetProperty("targets").EnumerateArray());
            var grid = panel.GetProperty("gridPos");
            Assert.True(grid.GetProperty("x").GetInt32() + grid.GetProperty("w").GetInt32() <= 24, $"{title} is wider than the grid");
        }

        var queries = string.Join('\n', DeployFiles.DashboardExpressions());
        foreach (var metric in new[]
        {
            "agenthub_http_requests_total", "agenthub_relay_calls_total", "agenthub_upstream_errors_total", // traffic, errors
            "agenthub_http_request_duration_seconds_bucket", "agenthub_relay_duration_seconds_bucket", "agenthub_upstream_duration_seconds_bucket", // latency
            "agenthub_auth_failures_total", "agenthub_ratelimit_refusals_total", "agenthub_policy_denials_total", "agenthub_signature_failures_total", // security
            "agenthub_audit_append_duration_seconds_bucket", "agenthub_audit_batch_size_bucket", "agenthub_audit_write_failures_total", // audit health
        })
        {
            Assert.Contains(metric, queries, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Dashboard_and_alerts_query_only_metrics_the_hub_exposes()
    {
        await using var hub = await HubTestHost.StartAsync();
        var live = await hub.Http(hub.AdminKey).GetStringAsync("/metrics");
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var declared = new HubMetrics(services.GetRequiredService<IMeterFactory>()).Exported.SelectMany(s => s.SampleNames);
        var rulesText = File.ReadAllText(Path.Combine(DeployFiles.PrometheusDir, "alerts.yml"));
        var recorded = RecordingRule().Matches(rulesText).Select(m => m.Groups[1].Value);
        var exposed = new HashSet<string>([.. Exposition.Names(live), .. declared, .. recorded, "up"], StringComparer.Ordinal);

        var unknown = DeployFiles.DashboardExpressions()
            .SelectMany(e => Exposition.MetricNames(e).Select(n => (Name: n, Expr: e)))
            .Concat(RuleExpressions(rulesText).SelectMany(e => Exposition.MetricNames(e).Select(n => (Name: n, Expr: e))))
            .Where(x => !exposed.Contains(x.Name))
            .Select(x => $"{x.Name} in: {x.Expr}")
            .ToList();

        Assert.True(DeployFiles.DashboardExpressions().Count > 20);
        Assert.Equal(10, RuleExpressions(rulesText).Count);
        Assert.True(unknown.Count == 0, "names the hub does not expose:\n" + string.Join('\n', unknown));
        Assert.Contains("process_cpu_seconds_total", exposed); // from the live output
    }

    // "expr: |" followed by more deeply indented lines, or "expr: <one line>".
    [GeneratedRegex(@"expr: (?:\|\n(?<block>(?:[ ]{10,}.*\n)+)|(?<line>.+)\n)")]
    private static partial Regex RuleExpression();

    private static List<string> RuleExpressions(string rules) =>
        [.. RuleExpression().Matches(rules).Select(m => m.Groups["block"].Success ? m.Groups["block"].Value : m.Groups["line"].Value)];

    [GeneratedRegex(@"record: (\S+)")]
    private static partial Regex RecordingRule();
}

internal static class DeployFiles
{
    public static string PrometheusDir => Path.Combine(HubProcess.RepoRoot(), "deploy", "prometheus");

    public static string DashboardPath => Path.Combine(HubProcess.RepoRoot(), "deploy", "grafana", "agenthub-dashboard.json");

    /// <summary>Every <c>expr</c> in the dashboard, wherever it sits (panels, rows' panels, targets).</summary>
    public static IReadOnlyList<string> DashboardExpressions()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(DashboardPath));
        var found = new List<string>();
        Walk(json.RootElement, found);
        return found;
    }

    private static void Walk(JsonElement element, List<string> found)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in element.EnumerateObject())
            {
                if (property.Name == "expr" && property.Value.ValueKind == JsonValueKind.String)
                {
                    found.Add(property.Value.GetString()!);
                }
                else
                {
                    Walk(property.Value, found);
                }
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in element.EnumerateArray())
            {
                Walk(item, found);
            }
        }
    }
}
