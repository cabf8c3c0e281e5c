using System.ComponentModel.DataAnnotations;

namespace AgentHub.Relay;

/// <summary>Relay limits (section <c>Relay</c>).</summary>
internal sealed class RelayOptions
{
    public const string Section = "Relay";

    /// <summary>Largest JSON-RPC request body on <c>/a2a/*</c>.</summary>
    [Range(1024, 1L << 30)]
    public long MaxRequestBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Largest non-streaming upstream answer.</summary>
    [Range(1024, 1L << 31)]
    public long MaxResponseBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>Largest single Server-Sent Event from an upstream.</summary>
    [Range(1024, 1L << 30)]
    public int MaxEventBytes { get; set; } = 1024 * 1024;

    /// <summary>Calls one caller may have in flight through this instance (429 beyond).</summary>
    [Range(1, 100_000)]
    public int MaxConcurrentPerCaller { get; set; } = 64;

    /// <summary>Calls one agent may have in flight through this instance (429 beyond).</summary>
    [Range(1, 100_000)]
    public int MaxConcurrentPerAgent { get; set; } = 256;

    /// <summary>Time to connect to an upstream.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Time a non-streaming upstream call may take in all.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan UpstreamTimeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>Longest silence between two events of a stream before the hub ends it.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan StreamIdleTimeout { get; set; } = TimeSpan.FromMinutes(5);
}
