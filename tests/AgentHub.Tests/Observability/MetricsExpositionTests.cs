using System.Diagnostics.Metrics;
using System.Reflection.Emit;
using AgentHub.Observability;
using Microsoft.Extensions.DependencyInjection;

namespace AgentHub.Tests.Observability;

/// <summary>The collector and the text format, on a meter of their own (no hub, no HTTP).</summary>
public sealed class MetricsExpositionTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly HubMetrics _metrics;
    private readonly MetricsCollector _collector;
    private readonly PrometheusExporter _exporter;

    public MetricsExpositionTests()
    {
        _metrics = new HubMetrics(_services.GetRequiredService<IMeterFactory>());
        _collector = new MetricsCollector(_metrics);
        _exporter = new PrometheusExporter(_collector);
    }

    [Theory]
    [InlineData("agenthub.http.requests", null, "Counter", "agenthub_http_requests_total")]
    [InlineData("agenthub.relay.duration", "s", "Histogram", "agenthub_relay_duration_seconds")]
    [InlineData("agenthub.audit.batch.size", null, "Histogram", "agenthub_audit_batch_size")]
    [InlineData("agenthub.payload.size", "By", "Histogram", "agenthub_payload_size_bytes")]
    [InlineData("agenthub.wait.seconds", "s", "Histogram", "agenthub_wait_seconds")]
    public void Instrument_names_become_prometheus_names(string instrument, string? unit, string kind, string expected) =>
        Assert.Equal(expected, MetricSpec.PrometheusName(instrument, unit, Enum.Parse<MetricKind>(kind)));

    [Fact]
    public void Every_instrument_is_exported_with_the_names_the_issue_asks_for()
    {
        var names = _metrics.Exported.ToDictionary(s => s.Name, s => s.Kind);

        Assert.Equal(MetricKind.Counter, names["agenthub_relay_calls_total"]);
        Assert.Equal(MetricKind.Histogram, names["agenthub_relay_duration_seconds"]);
        Assert.Equal(MetricKind.Histogram, names["agenthub_upstream_duration_seconds"]);
        Assert.Equal(MetricKind.Counter, names["agenthub_upstream_errors_total"]);
        Assert.Equal(MetricKind.Counter, names["agenthub_policy_denials_total"]);
        Assert.Equal(MetricKind.Counter, names["agenthub_signature_failures_total"]);
        Assert.Equal(MetricKind.Counter, names["agenthub_auth_failures_total"]);
        Assert.Equal(MetricKind.Counter, names["agenthub_ratelimit_refusals_total"]);
        Assert.Equal(MetricKind.Histogram, names["agenthub_audit_append_duration_seconds"]);
        Assert.Equal(MetricKind.Histogram, names["agenthub_audit_batch_size"]);
        Assert.Equal(MetricKind.Counter, names["agenthub_audit_write_failures_total"]);
        Assert.Equal(["agent", "method", "outcome"], _metrics.Exported.Single(s => s.Name == "agenthub_relay_calls_total").Labels);
        Assert.Equal(["reason"], _metrics.Exported.Single(s => s.Name == "agenthub_signature_failures_total").Labels);
    }

    [Fact]
    public void Labelled_families_appear_once_recorded_and_unlabelled_ones_start_at_zero()
    {
        var before = Exposition.Samples(_exporter.Render());
        Assert.DoesNotContain(before.Keys, k => k.StartsWith("agenthub_relay_calls_total", StringComparison.Ordinal));
        Assert.Equal(0, before["agenthub_audit_write_failures_total"]);
        Assert.Equal(0, before["agenthub_audit_batch_size_count"]);

        _metrics.RelayCall("weather", "SendMessage", RelayOutcome.Ok, TimeSpan.FromMilliseconds(30));
        _metrics.RelayCall("weather", "SendMessage", RelayOutcome.Ok, TimeSpan.FromMilliseconds(30));
        _metrics.PolicyDenied("ledger", "GetTask");
        _metrics.SignatureFailure("replay");
        _metrics.UpstreamError("weather", "timeout");
        _metrics.AuditWriteFailed();

        var after = Exposition.Samples(_exporter.Render());
        Assert.Equal(2, after["agenthub_relay_calls_total{agent=\"weather\",method=\"SendMessage\",outcome=\"ok\"}"]);
        Assert.Equal(2, after["agenthub_relay_duration_seconds_count{agent=\"weather\",method=\"SendMessage\"}"]);
        Assert.Equal(1, after["agenthub_policy_denials_total{agent=\"ledger\",method=\"GetTask\"}"]);
        Assert.Equal(1, after["agenthub_signature_failures_total{reason=\"replay\"}"]);
        Assert.Equal(1, after["agenthub_upstream_errors_total{agent=\"weather\",reason=\"timeout\"}"]);
        Assert.Equal(1, after["agenthub_audit_write_failures_total"]);
    }

    [Fact]
    public void Histogram_buckets_are_cumulative_inclusive_and_end_with_inf_equal_to_count()
    {
        foreach (var seconds in new[] { 0.0004, 0.001, 0.001, 0.3, 20.0 })
        {
            _metrics.UpstreamCall("weather", TimeSpan.FromSeconds(seconds));
        }

        var text = _exporter.Render();
        var samples = Exposition.Samples(text);
        string Bucket(string le) => $"agenthub_upstream_duration_seconds_bucket{{agent=\"weather\",le=\"{le}\"}}";
        Assert.Equal(1, samples[Bucket("0.0005")]);
        Assert.Equal(3, samples[Bucket("0.001")]); // le is an inclusive upper bound
        Assert.Equal(3, samples[Bucket("0.25")]);
        Assert.Equal(4, samples[Bucket("0.5")]);
        Assert.Equal(4, samples[Bucket("10.0")]);
        Assert.Equal(5, samples[Bucket("+Inf")]);
        Assert.Equal(5, samples["agenthub_upstream_duration_seconds_count{agent=\"weather\"}"]);
        Assert.Equal(20.3024, samples["agenthub_upstream_duration_seconds_sum{agent=\"weather\"}"], 6);
        Assert.Contains("# TYPE agenthub_upstream_duration_seconds histogram\n", text, StringComparison.Ordinal);
        Assert.Equal(HubMetrics.SecondsBuckets.Length + 1, samples.Keys.Count(k => k.StartsWith("agenthub_upstream_duration_seconds_bucket", StringComparison.Ordinal)));
    }

    [Fact]
    public void Batch_sizes_use_their_own_buckets_up_to_4096()
    {
        _metrics.AuditAppended(3, TimeSpan.FromMilliseconds(2));
        _metrics.AuditAppended(5000, TimeSpan.FromMilliseconds(2));

        var samples = Exposition.Samples(_exporter.Render());
        Assert.Equal(0, samples["agenthub_audit_batch_size_bucket{le=\"2.0\"}"]);
        Assert.Equal(1, samples["agenthub_audit_batch_size_bucket{le=\"4.0\"}"]);
        Assert.Equal(1, samples["agenthub_audit_batch_size_bucket{le=\"4096.0\"}"]);
        Assert.Equal(2, samples["agenthub_audit_batch_size_bucket{le=\"+Inf\"}"]);
        Assert.Equal(5003, samples["agenthub_audit_batch_size_sum"]);
        Assert.Equal(0, samples["agenthub_audit_append_duration_seconds_bucket{le=\"0.001\"}"]);
        Assert.Equal(2, samples["agenthub_audit_append_duration_seconds_bucket{le=\"0.0025\"}"]);
    }

    [Fact]
    public void Label_values_are_escaped_per_the_format()
    {
        _metrics.AuthFailure("a\"b\\c\nd");

        var text = _exporter.Render();

        Assert.Contains("agenthub_auth_failures_total{reason=\"a\\\"b\\\\c\\nd\"} 1\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Unbounded_inputs_are_folded_into_bounded_label_values()
    {
        _metrics.HttpRequest("/api/v1/me", "BREW", 200, TimeSpan.FromMilliseconds(1));
        _metrics.RelayCall("weather", "'; DROP TABLE tasks; --", RelayOutcome.Ok, TimeSpan.FromMilliseconds(1));
        _metrics.PolicyDenied("weather", "message/send-" + Guid.NewGuid());

        var samples = Exposition.Samples(_exporter.Render());

        Assert.Equal(1, samples["agenthub_http_requests_total{route=\"/api/v1/me\",method=\"other\",status=\"200\"}"]);
        Assert.Equal(1, samples["agenthub_relay_calls_total{agent=\"weather\",method=\"other\",outcome=\"ok\"}"]);
        Assert.Equal(1, samples["agenthub_policy_denials_total{agent=\"weather\",method=\"other\"}"]);
    }

    [Fact]
    public void A_family_stops_growing_at_its_series_limit_and_counts_the_rest_as_overflow()
    {
        for (var i = 0; i < MetricFamily.MaxSeries + 50; i++)
        {
            _metrics.SignatureFailure("reason-" + i);
        }

        var samples = Exposition.Samples(_exporter.Render());
        var series = samples.Where(s => s.Key.StartsWith("agenthub_signature_failures_total{", StringComparison.Ordinal)).ToList();

        Assert.Equal(MetricFamily.MaxSeries + 1, series.Count);
        Assert.Equal(50, samples["agenthub_signature_failures_total{reason=\"overflow\"}"]);
        Assert.Equal(MetricFamily.MaxSeries + 50, series.Sum(s => s.Value));
    }

    [Fact]
    public async Task Concurrent_recording_loses_nothing()
    {
        const int Threads = 8, PerThread = 20_000;
        await Task.WhenAll(Enumerable.Range(0, Threads).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < PerThread; i++)
            {
                _metrics.RelayCall("agent-" + (i % 4), "SendMessage", RelayOutcome.Ok, TimeSpan.FromMilliseconds(1));
            }
        })));

        var samples = Exposition.Samples(_exporter.Render());

        Assert.Equal(Threads * PerThread, samples.Where(s => s.Key.StartsWith("agenthub_relay_calls_total{", StringComparison.Ordinal)).Sum(s => s.Value));
        Assert.Equal(Threads * PerThread * 0.001, samples.Where(s => s.Key.StartsWith("agenthub_relay_duration_seconds_sum{", StringComparison.Ordinal)).Sum(s => s.Value), 6);
    }

    [Fact]
    public void Two_hubs_in_one_process_keep_their_numbers_apart()
    {
        using var otherServices = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var other = new HubMetrics(otherServices.GetRequiredService<IMeterFactory>());
        using var otherCollector = new MetricsCollector(other);

        other.AuthFailure("invalid");
        _metrics.AuthFailure("expired");

        var mine = Exposition.Samples(_exporter.Render());
        var theirs = Exposition.Samples(new PrometheusExporter(otherCollector).Render());
        Assert.False(mine.ContainsKey("agenthub_auth_failures_total{reason=\"invalid\"}"));
        Assert.Equal(1, mine["agenthub_auth_failures_total{reason=\"expired\"}"]);
        Assert.Equal(1, theirs["agenthub_auth_failures_total{reason=\"invalid\"}"]);
        Assert.False(theirs.ContainsKey("agenthub_auth_failures_total{reason=\"expired\"}"));
    }

    [Fact]
    public void Process_metrics_are_read_at_scrape_time()
    {
        var first = Exposition.Samples(_exporter.Render());
        var allocated = new byte[1024 * 1024];
        GC.Collect(0);
        var spin = 0L;
        var until = Environment.CpuUsage.TotalTime + TimeSpan.FromMilliseconds(50);
        while (Environment.CpuUsage.TotalTime < until)
        {
            spin++;
        }

        // A method never called before, compiled now: the JIT's count must move between the two scrapes.
        var compiled = new DynamicMethod("scraped", typeof(int), Type.EmptyTypes);
        var il = compiled.GetILGenerator();
        il.Emit(OpCodes.Ldc_I4, 42);
        il.Emit(OpCodes.Ret);
        Assert.Equal(42, ((Func<int>)compiled.CreateDelegate(typeof(Func<int>)))());

        var second = Exposition.Samples(_exporter.Render());

        Assert.True(spin > 0);
        GC.KeepAlive(allocated);
        Assert.True(second["dotnet_gc_allocated_bytes_total"] - first["dotnet_gc_allocated_bytes_total"] >= allocated.Length);
        Assert.True(second["dotnet_gc_pause_seconds_total"] > first["dotnet_gc_pause_seconds_total"]);
        Assert.True(second["dotnet_jit_compiled_methods_total"] > first["dotnet_jit_compiled_methods_total"]);
        Assert.True(second["dotnet_jit_compilation_seconds_total"] > first["dotnet_jit_compilation_seconds_total"]);
        Assert.True(second["process_cpu_seconds_total"] > first["process_cpu_seconds_total"]);
        Assert.True(second["dotnet_gc_collections_total{generation=\"0\"}"] > first["dotnet_gc_collections_total{generation=\"0\"}"]);
        Assert.True(second["process_resident_memory_bytes"] > 1024 * 1024);
        Assert.True(second["dotnet_gc_heap_size_bytes"] > 0);
        Assert.True(second["process_num_threads"] >= 1);
        var started = DateTimeOffset.FromUnixTimeMilliseconds((long)(second["process_start_time_seconds"] * 1000));
        Assert.InRange(started, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow);
        Assert.True(second.ContainsKey($"dotnet_gc_collections_total{{generation=\"{GC.MaxGeneration}\"}}"));
    }

    [Theory]
    [InlineData(1.0, "1.0")]
    [InlineData(4096.0, "4096.0")]
    [InlineData(0.0005, "0.0005")]
    [InlineData(2.5, "2.5")]
    public void Bucket_bounds_are_written_in_float_form(double bound, string expected) =>
        Assert.Equal(expected, PrometheusExporter.Le(bound));

    [Fact]
    public void PromQl_name_extraction_finds_metrics_and_nothing_else()
    {
        var names = Exposition.MetricNames(
            "histogram_quantile(0.99, sum by (agent, le) (rate(agenthub_relay_duration_seconds_bucket{le=\"1.0\",agent=~\"a|b\"}[$__rate_interval])))" +
            " / ignoring(instance) group_left(job) (sum without (reason) (increase(bogus_metric_total[1h] offset 5m)) or vector(0)) > bool 1e3" +
            " and agenthub:relay_slow_calls:ratio_rate5m");

        Assert.Equal(["agenthub:relay_slow_calls:ratio_rate5m", "agenthub_relay_duration_seconds_bucket", "bogus_metric_total"], names.Order(StringComparer.Ordinal));
    }

    public void Dispose()
    {
        _collector.Dispose();
        _services.Dispose();
    }
}
