using System.ComponentModel.DataAnnotations;

namespace AgentHub.Audit;

/// <summary>Audit log settings (section <c>Audit</c>).</summary>
internal sealed class AuditOptions
{
    public const string Section = "Audit";

    /// <summary>A signed checkpoint after this many new records.</summary>
    [Range(1, 10_000_000)]
    public int CheckpointEveryRecords { get; set; } = 1000;

    /// <summary>A signed checkpoint at least this often while new records arrive.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Most records committed in one transaction (group commit).</summary>
    [Range(1, 100_000)]
    public int MaxBatch { get; set; } = 1024;
}
