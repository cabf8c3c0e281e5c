using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Security.Cryptography;
using AgentHub.Audit;
using AgentHub.Observability;
using AgentHub.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AgentHub.Benchmarks.Throughput;

/// <summary>
/// <c>audit --db sqlite|postgres [--postgres CONNSTRING] --writers N [--seconds S] [--warmup W] [--quick]</c>: N
/// concurrent writers append relay.call records through the hub's <see cref="AuditLog"/> (group commit, durable) on a
/// fresh database for S seconds after W seconds of the same load, which the JIT needs to optimise the writer's code.
/// Prints one JSON line to stdout; fails when the database holds a different number of records than were acknowledged.
/// </summary>
internal static class AuditThroughput
{
    public static async Task<int> RunAsync(BenchArgs args)
    {
        var quick = args.Flag("--quick");
        var engine = args.Value("--db") ?? throw new ArgumentException("--db sqlite|postgres is required.");
        var server = args.Value("--postgres") ?? Environment.GetEnvironmentVariable("AGENTHUB_TEST_POSTGRES");
        var writers = args.Int("--writers", 1);
        var seconds = args.Double("--seconds", quick ? 2 : 5);
        // Measured: with one writer loop and 64 callers on one core, tier-1 code takes seconds to arrive; after 1 s the
        // figure was that of the unoptimised writer (about a fifth lower).
        var warmUp = TimeSpan.FromSeconds(args.Double("--warmup", quick ? 1 : 8));
        if (args.Rest() is { Length: > 0 } unknown)
        {
            throw new ArgumentException($"Unknown arguments: {string.Join(' ', unknown)}");
        }

        await using var database = engine switch
        {
            "sqlite" => await BenchDatabase.CreateSqliteAsync(),
            "postgres" => await BenchDatabase.CreatePostgresAsync(server
                ?? throw new ArgumentException("--db postgres needs --postgres CONNSTRING (a superuser on the server, e.g. database postgres).")),
            _ => throw new ArgumentException($"--db must be sqlite or postgres, not '{engine}'."),
        };
        Console.Error.WriteLine($"audit: {database.Hub.Description}, {writers} writers, {seconds:0.###} s after {warmUp.TotalSeconds:0.###} s warm-up");

        var (records, elapsed, acknowledged) = await MeasureAsync(database.Hub, writers, warmUp, TimeSpan.FromSeconds(seconds));
        var stored = await database.CountAuditRecordsAsync();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $$"""{"db":"{{engine}}","writers":{{writers}},"seconds":{{elapsed.TotalSeconds:0.000}},"records":{{records}},"records_per_s":{{records / elapsed.TotalSeconds:0.0}}}"""));
        if (stored != acknowledged)
        {
            Console.Error.WriteLine($"audit: the database holds {stored} records but {acknowledged} were acknowledged");
            return 1;
        }

        Console.Error.WriteLine($"audit: {acknowledged} records acknowledged and stored");
        return 0;
    }

    /// <summary>Appends until stopped; returns the records acknowledged in the measured window, its length, and all acknowledged.</summary>
    private static async Task<(long Records, TimeSpan Elapsed, long Acknowledged)> MeasureAsync(HubDatabase database, int writers, TimeSpan warmUp, TimeSpan duration)
    {
        using var meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var log = new AuditLog(database, TimeProvider.System, new HubMetrics(meters.GetRequiredService<IMeterFactory>()),
            Options.Create(new AuditOptions()), NullLogger<AuditLog>.Instance);
        await using (log)
        {
            long acknowledged = 0;
            using var stop = new CancellationTokenSource();
            var tasks = Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
            {
                var caller = $"agent:caller-{w:D3}";
                var bodyHash = Convert.ToHexStringLower(SHA256.HashData(BitConverter.GetBytes(w)));
                for (var n = 0; !stop.IsCancellationRequested; n++)
                {
                    await log.AppendAsync(RelayCall(caller, bodyHash, n));
                    Interlocked.Increment(ref acknowledged);
                }
            })).ToList();

            await Task.Delay(warmUp);
            var before = Interlocked.Read(ref acknowledged);
            var started = Stopwatch.GetTimestamp();
            await Task.Delay(duration);
            var records = Interlocked.Read(ref acknowledged) - before;
            var elapsed = Stopwatch.GetElapsedTime(started);
            await stop.CancelAsync();
            await Task.WhenAll(tasks);
            return (records, elapsed, Interlocked.Read(ref acknowledged));
        }
    }

    /// <summary>The record the relay writes before forwarding a call (see the relay endpoint).</summary>
    private static AuditEvent RelayCall(string caller, string bodyHash, int n) =>
        new(AuditTypes.RelayCall, caller, "travel-planner", AuditOutcome.Success, new Dictionary<string, string>
        {
            ["method"] = "SendMessage",
            ["task"] = string.Create(CultureInfo.InvariantCulture, $"task-{n:D8}"),
            ["request_sha256"] = bodyHash,
            ["request_bytes"] = "1024",
            ["rule"] = "pr_000042",
            ["signature_keyid"] = "travel-planner-p256",
            ["chain"] = caller,
            ["delegation_depth"] = "0",
        });
}
