namespace AgentHub.Client.Signatures;

/// <summary>How <see cref="HttpMessageSigner"/> signs a message.</summary>
public sealed record SignatureOptions
{
    /// <summary><c>@method @authority @path @query content-type content-digest a2a-version</c>.</summary>
    public static IReadOnlyList<string> DefaultComponents { get; } =
        ["@method", "@authority", "@path", "@query", "content-type", "content-digest", "a2a-version"];

    /// <summary>The defaults.</summary>
    public static SignatureOptions Default { get; } = new();

    /// <summary>The signature's label in <c>Signature-Input</c> and <c>Signature</c> (default <c>sig1</c>).</summary>
    public string Label { get; init; } = "sig1";

    /// <summary>
    /// Covered components, in order: derived components (<c>@method</c>, …) and field names. <c>@query</c> is left out
    /// when the request has no query. A component written as a Structured Field String with parameters (e.g.
    /// <c>"@method";req</c>) is used as such.
    /// </summary>
    public IReadOnlyList<string> Components { get; init; } = DefaultComponents;

    /// <summary>Further covered components after <see cref="Components"/>, e.g. <c>agenthub-caller</c>, <c>authorization</c>.</summary>
    public IReadOnlyList<string> ExtraComponents { get; init; } = [];

    /// <summary>The clock for <c>created</c> (default: system).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Include <c>created</c> (default true).</summary>
    public bool IncludeCreated { get; init; } = true;

    /// <summary>When set, <c>expires</c> = <c>created</c> + this lifetime (whole seconds, rounded up).</summary>
    public TimeSpan? Lifetime { get; init; }

    /// <summary>Include a <c>nonce</c> (default true): <see cref="Nonce"/>, or 16 random bytes in base64url.</summary>
    public bool IncludeNonce { get; init; } = true;

    /// <summary>A fixed nonce; default: a fresh random one per signature.</summary>
    public string? Nonce { get; init; }

    /// <summary>The <c>keyid</c> parameter; default: the key's <see cref="SignatureKey.KeyId"/>.</summary>
    public string? KeyId { get; init; }

    /// <summary>Include the <c>alg</c> parameter (default false: the verifier knows the key's algorithm).</summary>
    public bool IncludeAlgorithm { get; init; }

    /// <summary>The optional <c>tag</c> parameter (an application-specific marker).</summary>
    public string? Tag { get; init; }
}

/// <summary>The header values of one signature; deconstructs as <c>(signatureInput, signature)</c>.</summary>
/// <param name="SignatureInput">The <c>Signature-Input</c> member, e.g. <c>sig1=("@method" …);created=…;keyid="…"</c>.</param>
/// <param name="Signature">The <c>Signature</c> member, e.g. <c>sig1=:…:</c>.</param>
public sealed record SignatureHeaders(string SignatureInput, string Signature)
{
    /// <summary>The label.</summary>
    public required string Label { get; init; }

    /// <summary>The signature base that was signed (for diagnostics; it holds header values).</summary>
    public required string SignatureBase { get; init; }
}
