using System.ComponentModel.DataAnnotations;

namespace AgentHub.Agents;

/// <summary>The agent registry (configuration section <c>Agents</c>).</summary>
internal sealed class AgentsOptions : IValidatableObject
{
    public const string Section = "Agents";

    /// <summary>
    /// Lets card and upstream URLs point at loopback, private, link-local and other non-public addresses.
    /// Off by default: a registration must not make the hub reach into its own network (SSRF).
    /// </summary>
    public bool AllowPrivateNetworks { get; set; }

    /// <summary>Host names or IP literals that may be reached whatever they resolve to (e.g. <c>echo.internal</c>, <c>127.0.0.1</c>).</summary>
    public List<string> AllowedHosts { get; set; } = [];

    /// <summary>The hub's external base URL for the cards it serves; empty = the scheme and host of each request.</summary>
    public string? PublicUrl { get; set; }

    /// <summary>How often the health probe checks every upstream.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00", ErrorMessage = "Agents:HealthInterval must be between 1 second and 1 day.")]
    public TimeSpan HealthInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long one probe may take before the upstream counts as down.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00", ErrorMessage = "Agents:HealthTimeout must be between 100 ms and 1 minute.")]
    public TimeSpan HealthTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Largest Agent Card the hub fetches, in bytes.</summary>
    [Range(1024, 16 * 1024 * 1024, ErrorMessage = "Agents:MaxCardBytes must be between 1024 and 16777216.")]
    public int MaxCardBytes { get; set; } = 256 * 1024;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!string.IsNullOrEmpty(PublicUrl) &&
            (!Uri.TryCreate(PublicUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) ||
             !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment)))
        {
            yield return new ValidationResult($"Agents:PublicUrl '{PublicUrl}' is not an http(s) base URL like https://hub.example.com.",
                [nameof(PublicUrl)]);
        }

        foreach (var host in AllowedHosts.Where(h => string.IsNullOrWhiteSpace(h) || h.Contains('/', StringComparison.Ordinal)))
        {
            yield return new ValidationResult($"Agents:AllowedHosts entry '{host}' is not a host name or IP address.", [nameof(AllowedHosts)]);
        }
    }
}
