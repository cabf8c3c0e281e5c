using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace AgentHub.Observability;

/// <summary>
/// Renders the collected metrics and the process's own figures in the Prometheus text exposition format 0.0.4
/// (https://prometheus.io/docs/instrumenting/exposition_formats/). A labelled family appears once it has a series;
/// a family without labels is always present (a counter at 0 is what alert rules need to see a first failure).
/// </summary>
internal sealed class PrometheusExporter(MetricsCollector collector)
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private static readonly double ProcessStart = StartTime();

    public string Render()
    {
        var text = new StringBuilder(16 * 1024);
        foreach (var family in collector.Families)
        {
            WriteFamily(text, family);
        }

        WriteProcess(text);
        return text.ToString();
    }

    private static void WriteFamily(StringBuilder text, MetricFamily family)
    {
        var spec = family.Spec;
        var series = family.Snapshot();
        if (series.Count == 0 && spec.Labels.Count > 0)
        {
            return;
        }

        if (series.Count == 0)
        {
            series = [(default, new Series(spec.Buckets))];
        }

        Header(text, spec.Name, spec.Help, spec.Kind == MetricKind.Counter ? "counter" : "histogram");
        foreach (var (key, s) in series)
        {
            if (spec.Kind == MetricKind.Counter)
            {
                Sample(text, spec.Name, spec.Labels, key, null, s.Value);
                continue;
            }

            var buckets = s.Buckets();
            long cumulative = 0;
            for (var i = 0; i < buckets.Length; i++)
            {
                cumulative += buckets[i];
                var le = i < spec.Buckets!.Length ? Le(spec.Buckets[i]) : "+Inf";
                Sample(text, spec.Name + "_bucket", spec.Labels, key, le, cumulative);
            }

            Sample(text, spec.Name + "_sum", spec.Labels, key, null, s.Sum);
            Sample(text, spec.Name + "_count", spec.Labels, key, null, cumulative);
        }
    }

    // Read at scrape time: CPU, memory, threads and the GC as the runtime sees them now.
    private static void WriteProcess(StringBuilder text)
    {
        using var process = Process.GetCurrentProcess();
        Gauge(text, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", "counter", Environment.CpuUsage.TotalTime.TotalSeconds);
        Gauge(text, "process_resident_memory_bytes", "Resident memory size in bytes.", "gauge", Environment.WorkingSet);
        Gauge(text, "process_start_time_seconds", "Start time of the process since the Unix epoch in seconds.", "gauge", ProcessStart);
        Gauge(text, "process_num_threads", "Number of operating system threads of the process.", "gauge", process.Threads.Count);
        Gauge(text, "dotnet_gc_heap_size_bytes", "Bytes currently allocated on the managed (GC) heap.", "gauge", GC.GetTotalMemory(forceFullCollection: false));

        // What the GC costs: the allocation rate behind it, and the time it paused the process.
        Gauge(text, "dotnet_gc_allocated_bytes_total", "Bytes allocated on the managed heap since the process started.", "counter",
            GC.GetTotalAllocatedBytes(precise: false));
        Gauge(text, "dotnet_gc_pause_seconds_total", "Time the process was paused by the GC since it started, in seconds.", "counter",
            GC.GetTotalPauseDuration().TotalSeconds);

        // Tiered compilation recompiles hot methods for minutes after start: these two show when it has settled.
        Gauge(text, "dotnet_jit_compiled_methods_total", "Methods compiled by the JIT since the process started (every tier).", "counter",
            System.Runtime.JitInfo.GetCompiledMethodCount());
        Gauge(text, "dotnet_jit_compilation_seconds_total", "Time the JIT spent compiling since the process started, in seconds.", "counter",
            System.Runtime.JitInfo.GetCompilationTime().TotalSeconds);

        Header(text, "dotnet_gc_collections_total", "Garbage collections that included this generation, since the process started.", "counter");
        for (var generation = 0; generation <= GC.MaxGeneration; generation++)
        {
            text.Append("dotnet_gc_collections_total{generation=\"").Append(generation.ToString(CultureInfo.InvariantCulture)).Append("\"} ")
                .Append(GC.CollectionCount(generation).ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
    }

    private static void Gauge(StringBuilder text, string name, string help, string type, double value)
    {
        Header(text, name, help, type);
        text.Append(name).Append(' ').Append(Number(value)).Append('\n');
    }

    private static void Header(StringBuilder text, string name, string help, string type)
    {
        text.Append("# HELP ").Append(name).Append(' ');
        foreach (var c in help)
        {
            _ = c switch
            {
                '\\' => text.Append(@"\\"),
                '\n' => text.Append(@"\n"),
                _ => text.Append(c),
            };
        }

        text.Append("\n# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
    }

    private static void Sample(StringBuilder text, string name, IReadOnlyList<string> labels, SeriesKey key, string? le, double value)
    {
        text.Append(name);
        if (labels.Count > 0 || le is not null)
        {
            text.Append('{');
            for (var i = 0; i < labels.Count; i++)
            {
                text.Append(labels[i]).Append("=\"");
                AppendLabelValue(text, key[i]);
                text.Append("\",");
            }

            if (le is not null)
            {
                text.Append("le=\"").Append(le).Append("\",");
            }

            text.Length--; // the last comma
            text.Append('}');
        }

        text.Append(' ').Append(Number(value)).Append('\n');
    }

    /// <summary>Label values escape backslash, double quote and line feed (and nothing else).</summary>
    public static void AppendLabelValue(StringBuilder text, string value)
    {
        foreach (var c in value)
        {
            _ = c switch
            {
                '\\' => text.Append(@"\\"),
                '"' => text.Append("\\\""),
                '\n' => text.Append(@"\n"),
                _ => text.Append(c),
            };
        }
    }

    public static string Number(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        double.NaN => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    /// <summary>Bucket bounds in float form (<c>1.0</c>, not <c>1</c>), as OpenMetrics and Prometheus 3 write them, so a query on <c>le="1.0"</c> works on every version.</summary>
    public static string Le(double bound)
    {
        var text = Number(bound);
        return text.AsSpan().IndexOfAny(".Ee") >= 0 ? text : text + ".0";
    }

    private static double StartTime()
    {
        using var process = Process.GetCurrentProcess();
        return (process.StartTime.ToUniversalTime() - DateTime.UnixEpoch).TotalSeconds;
    }
}
