using System.ComponentModel.DataAnnotations;

namespace AgentHub.Web;

/// <summary>Request limits (configuration section <c>Limits</c>). Every limit has a safe default.</summary>
internal sealed class LimitsOptions
{
    public const string Section = "Limits";

    /// <summary>Largest request body on the admin API, in bytes.</summary>
    [Range(1024, 1L << 30)]
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>Largest total size of request headers, in bytes.</summary>
    [Range(1024, 1024 * 1024)]
    public int MaxRequestHeadersTotalBytes { get; set; } = 32 * 1024;

    /// <summary>Most request headers in one request.</summary>
    [Range(8, 1000)]
    public int MaxRequestHeaderCount { get; set; } = 64;

    /// <summary>Most open connections per listener.</summary>
    [Range(1, 1_000_000)]
    public long MaxConcurrentConnections { get; set; } = 4096;

    /// <summary>Sustained requests per second per authenticated principal (token bucket).</summary>
    [Range(1, 1_000_000)]
    public int PrincipalRequestsPerSecond { get; set; } = 100;

    /// <summary>Burst per principal: the bucket size.</summary>
    [Range(1, 1_000_000)]
    public int PrincipalBurst { get; set; } = 200;

    /// <summary>Sustained requests per second per client IP address, before authentication.</summary>
    [Range(1, 1_000_000)]
    public int AddressRequestsPerSecond { get; set; } = 200;

    /// <summary>Burst per client address: the bucket size.</summary>
    [Range(1, 1_000_000)]
    public int AddressBurst { get; set; } = 400;

    /// <summary>
    /// Connections the kernel queues until the hub accepts them (the listen backlog; Linux caps it at
    /// net.core.somaxconn). Kestrel's 512 overflows under a burst of new connections, and a dropped handshake costs
    /// the client a SYN retransmit (1 s, then 3 s, 7 s): as deep as the connection limit, a burst waits instead.
    /// </summary>
    [Range(16, 1_000_000)]
    public int ListenBacklog { get; set; } = 4096;

    /// <summary>How long a connection may take to send its request headers.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan RequestHeadersTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>CORS (section <c>Cors</c>): off unless origins are listed.</summary>
internal sealed class HubCorsOptions : IValidatableObject
{
    public const string Section = "Cors";

    public List<string> AllowedOrigins { get; set; } = [];

    /// <summary>Whether browsers may send cookies or HTTP authentication; never together with the origin "*".</summary>
    public bool AllowCredentials { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (AllowCredentials && AllowedOrigins.Contains("*"))
        {
            yield return new ValidationResult("Cors:AllowedOrigins may not contain '*' when Cors:AllowCredentials is true.",
                [nameof(AllowedOrigins)]);
        }

        foreach (var origin in AllowedOrigins.Where(o => o != "*"))
        {
            if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || (uri.Scheme != "https" && uri.Scheme != "http") ||
                uri.AbsolutePath != "/" || origin.EndsWith('/'))
            {
                yield return new ValidationResult($"Cors:AllowedOrigins entry '{origin}' is not an origin like https://app.example.com.",
                    [nameof(AllowedOrigins)]);
            }
        }
    }
}

/// <summary>TLS (section <c>Tls</c>): PEM certificate and key; when set the hub serves HTTPS only.</summary>
internal sealed class TlsOptions : IValidatableObject
{
    public const string Section = "Tls";

    public string? Cert { get; set; }

    public string? Key { get; set; }

    public bool Enabled => !string.IsNullOrEmpty(Cert);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (string.IsNullOrEmpty(Cert) != string.IsNullOrEmpty(Key))
        {
            yield return new ValidationResult("Tls:Cert and Tls:Key (--tls-cert, --tls-key) must be given together.", [nameof(Cert)]);
        }

        foreach (var (name, path) in new[] { ("Tls:Cert", Cert), ("Tls:Key", Key) })
        {
            if (!string.IsNullOrEmpty(path) && !File.Exists(path))
            {
                yield return new ValidationResult($"{name}: file '{path}' does not exist.", [name]);
            }
        }
    }
}
