using System.ComponentModel.DataAnnotations;

namespace AgentHub;

/// <summary>Where the hub keeps its state. Configuration keys: <c>Data</c>, <c>Database</c>, <c>MasterKey</c>.</summary>
internal sealed class HubOptions
{
    /// <summary>Data directory: SQLite database, master key file, bootstrap admin key.</summary>
    [Required]
    public string Data { get; set; } = "data";

    /// <summary>Empty: SQLite in <see cref="Data"/>. Otherwise an Npgsql connection string or postgres:// URL.</summary>
    public string? Database { get; set; }

    /// <summary>Base64 or hex master key; when empty the key lives in <c>DATA/master.key</c>.</summary>
    public string? MasterKey { get; set; }

    /// <summary>How long in-flight requests may run after SIGTERM before the process exits anyway.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(15);
}
