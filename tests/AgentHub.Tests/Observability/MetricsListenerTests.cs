using System.Net;
using System.Net.Http.Headers;
using AgentHub.Tests.Infrastructure;

namespace AgentHub.Tests.Observability;

/// <summary>The metrics listener of a real <c>agenthub serve</c> process, and its output checked by promtool.</summary>
public sealed class MetricsListenerTests : IDisposable
{
    private readonly TempDirectory _data = new();

    [Fact]
    public async Task Metrics_listener_serves_metrics_without_credentials_and_nothing_else()
    {
        await using var hub = await HubProcess.StartAsync(_data.Path);
        var metricsUrl = await hub.MetricsUrlAsync();
        var adminKey = await AdminKeyAsync();
        using var metrics = new HttpClient { BaseAddress = metricsUrl };
        using var main = new HttpClient { BaseAddress = hub.Url };

        Assert.NotEqual(hub.Url.Port, metricsUrl.Port);
        var scrape = await metrics.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", scrape.Content.Headers.ContentType?.ToString());
        Assert.Contains("# TYPE agenthub_audit_write_failures_total counter", await scrape.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // Nothing else, not even with a valid key, and not /metrics by another method.
        foreach (var path in new[] { "/healthz", "/readyz", "/api/v1/me", "/.well-known/jwks.json", "/metrics/x", "/" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
            Assert.Equal(HttpStatusCode.NotFound, (await metrics.SendAsync(request)).StatusCode);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await metrics.PostAsync("/metrics", new StringContent(""))).StatusCode);

        // The main listener serves the API as before, and /metrics only with a key.
        Assert.Equal(HttpStatusCode.OK, (await main.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await main.GetAsync("/metrics")).StatusCode);
        using var withKey = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        withKey.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
        Assert.Equal(HttpStatusCode.OK, (await main.SendAsync(withKey)).StatusCode);
    }

    [Fact]
    public async Task Live_output_passes_promtool_check_metrics()
    {
        await using var hub = await HubProcess.StartAsync(_data.Path);
        var metricsUrl = await hub.MetricsUrlAsync();
        var adminKey = await AdminKeyAsync();
        using var main = new HttpClient { BaseAddress = hub.Url };
        using var metrics = new HttpClient { BaseAddress = metricsUrl };
        // Traffic that fills every family the hub records today: requests, auth failures, audit appends.
        using (var bad = new HttpRequestMessage(HttpMethod.Get, "/api/v1/me"))
        {
            bad.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "nope");
            Assert.Equal(HttpStatusCode.Unauthorized, (await main.SendAsync(bad)).StatusCode);
        }

        using (var good = new HttpRequestMessage(HttpMethod.Get, "/api/v1/me"))
        {
            good.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
            Assert.Equal(HttpStatusCode.OK, (await main.SendAsync(good)).StatusCode);
        }

        var text = await metrics.GetStringAsync("/metrics");
        var (exit, stdout, stderr) = await PrometheusTools.PromtoolAsync(_data.Path, text, "check", "metrics");

        Assert.True(exit == 0 && stderr.Trim().Length == 0 && stdout.Trim().Length == 0, $"promtool check metrics: exit {exit}\n{stdout}\n{stderr}\n---\n{text}");
        var names = Exposition.Names(text);
        foreach (var name in new[]
        {
            "agenthub_http_requests_total", "agenthub_http_request_duration_seconds_bucket", "agenthub_auth_failures_total",
            "agenthub_audit_append_duration_seconds_bucket", "agenthub_audit_batch_size_bucket", "agenthub_audit_write_failures_total",
            "process_cpu_seconds_total", "process_resident_memory_bytes", "process_start_time_seconds", "process_num_threads",
            "dotnet_gc_heap_size_bytes", "dotnet_gc_collections_total", "dotnet_gc_allocated_bytes_total", "dotnet_gc_pause_seconds_total", "dotnet_jit_compiled_methods_total", "dotnet_jit_compilation_seconds_total",
        })
        {
            Assert.Contains(name, names);
        }

        Assert.DoesNotContain(adminKey, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failing_check_is_reported_by_promtool()
    {
        // The check above is only worth something if promtool refuses bad output.
        var (exit, stdout, stderr) = await PrometheusTools.PromtoolAsync(_data.Path,
            "# HELP requests Requests.\n# TYPE requests counter\nrequests 1\n", "check", "metrics");

        Assert.NotEqual(0, exit);
        Assert.Contains("_total", stdout + stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Empty_metrics_urls_turns_the_listener_off()
    {
        await using var hub = await HubProcess.StartAsync(_data.Path, ["--metrics-urls", ""]);
        await hub.WaitForOutputAsync("AgentHub listening on");

        Assert.Equal([hub.Url], hub.ListeningUrls);
    }

    [Fact]
    public async Task A_bad_metrics_url_stops_start_naming_the_key()
    {
        var (exit, stdout, stderr) = await HubProcess.RunAsync(
            ["serve", "--data", _data.Path, "--urls", "http://127.0.0.1:0", "--metrics-urls", "ftp://127.0.0.1:9464"]);

        Assert.Equal(1, exit);
        Assert.Contains("Metrics:Urls", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr + stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_tls_a_plain_http_metrics_url_off_loopback_stops_start()
    {
        // The check runs before the certificate is read: these files need not exist.
        var (exit, stdout, stderr) = await HubProcess.RunAsync(
            ["serve", "--data", _data.Path, "--urls", "https://127.0.0.1:0", "--metrics-urls", "http://0.0.0.0:0",
             "--tls-cert", Path.Combine(_data.Path, "cert.pem"), "--tls-key", Path.Combine(_data.Path, "key.pem")]);

        Assert.Equal(1, exit);
        Assert.Contains("Metrics:Urls", stderr, StringComparison.Ordinal);
        Assert.Contains("http://0.0.0.0:0", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr + stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kestrel_endpoints_from_configuration_and_a_metrics_listener_do_not_mix()
    {
        var (exit, _, stderr) = await HubProcess.RunAsync(["serve", "--data", _data.Path, "--metrics-urls", "http://127.0.0.1:0"],
            new Dictionary<string, string?> { ["AGENTHUB_KESTREL__ENDPOINTS__API__URL"] = "http://127.0.0.1:0" });

        Assert.Equal(1, exit);
        Assert.Contains("Kestrel:Endpoints", stderr, StringComparison.Ordinal);
    }

    private async Task<string> AdminKeyAsync()
    {
        var key = (await File.ReadAllTextAsync(Path.Combine(_data.Path, "bootstrap-admin.key"))).Trim();
        TestArtifacts.Secret(key);
        return key;
    }

    public void Dispose() => _data.Dispose();
}
