using System.Globalization;
using System.Text;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Horology;

namespace AgentHub.Benchmarks.Micro;

/// <summary>
/// <c>micro [--quick] --out DIR [BenchmarkDotNet options, e.g. --filter *Policy*]</c>: runs the benchmarks in this
/// process (no generated project per benchmark), writes BenchmarkDotNet's full JSON report under DIR/results and one
/// row per case to DIR/micro.tsv.
/// </summary>
internal static class MicroRunner
{
    private const string TsvHeader = "name\tmean_ns\tmedian_ns\tmin_ns\tmax_ns\tallocated_bytes";

    public static int Run(BenchArgs args)
    {
        var quick = args.Flag("--quick");
        var output = Path.GetFullPath(args.Value("--out") ?? throw new ArgumentException("micro needs --out DIR (where the reports go)."));
        var switcherArgs = args.Rest();
        if (!switcherArgs.Contains("--filter", StringComparer.Ordinal))
        {
            switcherArgs = [.. switcherArgs, "--filter", "*"];
        }

        var summaries = BenchmarkSwitcher.FromAssembly(typeof(MicroRunner).Assembly)
            .Run(switcherArgs, Config(quick, output))
            .ToList();
        var reports = summaries.SelectMany(s => s.Reports).ToList();
        File.WriteAllText(Path.Combine(output, "micro.tsv"), Tsv(reports));
        Console.Error.WriteLine($"micro: {reports.Count} cases, table in {Path.Combine(output, "micro.tsv")}");

        var failed = reports.Where(r => !r.Success || r.ResultStatistics is null).Select(r => Name(r.BenchmarkCase)).ToList();
        if (reports.Count == 0 || failed.Count > 0 || summaries.Any(s => s.HasCriticalValidationErrors))
        {
            Console.Error.WriteLine($"micro: failed: {(failed.Count > 0 ? string.Join(", ", failed) : "no benchmark ran")}");
            return 1;
        }

        return 0;
    }

    private static ManualConfig Config(bool quick, string output)
    {
        // In-process: the benchmarks run in this (Release) process instead of a generated and built project each.
        // Tiered compilation stays on (the hub runs with it and dynamic PGO), so even the quick job warms up for half a
        // second per case: shorter, it measures the unoptimised first tier.
        var job = Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithLaunchCount(1);
        job = quick
            ? job.WithWarmupCount(10).WithIterationCount(3).WithIterationTime(TimeInterval.FromMilliseconds(50)).WithId("Quick")
            : job.WithWarmupCount(3).WithIterationCount(10).WithIterationTime(TimeInterval.FromMilliseconds(200)).WithId("Full");

        var config = ManualConfig.CreateEmpty()
            .AddJob(job)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddColumn(CategoriesColumn.Default)
            .AddLogger(ConsoleLogger.Default)
            .AddExporter(JsonExporter.Full)
            .AddValidator([.. DefaultConfig.Instance.GetValidators()])
            .AddAnalyser([.. DefaultConfig.Instance.GetAnalysers()])
            .AddLogicalGroupRules(BenchmarkLogicalGroupRule.ByCategory)
            .WithArtifactsPath(output);
        return config;
    }

    private static string Tsv(IEnumerable<BenchmarkReport> reports)
    {
        var tsv = new StringBuilder(TsvHeader).Append('\n');
        foreach (var report in reports)
        {
            if (report.ResultStatistics is not { } stats)
            {
                continue;
            }

            var allocated = report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase);
            tsv.Append(CultureInfo.InvariantCulture,
                $"{Name(report.BenchmarkCase)}\t{stats.Mean:F3}\t{stats.Median:F3}\t{stats.Min:F3}\t{stats.Max:F3}\t{allocated}\n");
        }

        return tsv.ToString();
    }

    /// <summary><c>Category.Method(Param=value, …)</c>, e.g. <c>Policy.DecideAllowed(Rules=10000)</c>.</summary>
    private static string Name(BenchmarkCase benchmark)
    {
        var category = benchmark.Descriptor.Categories.FirstOrDefault() ?? benchmark.Descriptor.Type.Name;
        var name = $"{category}.{benchmark.Descriptor.WorkloadMethod.Name}";
        var parameters = benchmark.Parameters.Items.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Name}={p.Value}")).ToList();
        return parameters.Count == 0 ? name : $"{name}({string.Join(", ", parameters)})";
    }
}
