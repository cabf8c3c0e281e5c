namespace AgentHub.Client.Signatures;

/// <summary>Why a signature was refused.</summary>
public enum SignatureFailure
{
    /// <summary>It was not refused.</summary>
    None,

    /// <summary>No <c>Signature-Input</c>/<c>Signature</c>, or no signature with the wanted label in both.</summary>
    Missing,

    /// <summary>A field is not valid (Structured Field syntax, member shapes, parameter types, component identifiers).</summary>
    Malformed,

    /// <summary>A required component is not covered, or a covered component is not in the message.</summary>
    MissingComponent,

    /// <summary>A required signature parameter (e.g. <c>created</c>, <c>keyid</c>, <c>nonce</c>) is absent.</summary>
    MissingParameter,

    /// <summary><c>created</c> is further from now than the allowed skew.</summary>
    Stale,

    /// <summary>Now is past <c>expires</c>.</summary>
    Expired,

    /// <summary>No key is known for <c>keyid</c>.</summary>
    UnknownKey,

    /// <summary><c>alg</c> does not match the key's algorithm, or the key's algorithm is not allowed.</summary>
    WrongAlgorithm,

    /// <summary>The signature does not verify.</summary>
    BadSignature,

    /// <summary>The <c>Content-Digest</c> does not match the body (reported by callers after <see cref="ContentDigest.Verify"/>).</summary>
    BadDigest,
}

/// <summary>The outcome of <see cref="HttpMessageVerifier.Verify"/>; on success it says what was signed, by which key and when.</summary>
public sealed record SignatureVerification
{
    /// <summary>The signature verified and met every requirement.</summary>
    public bool Success => Failure == SignatureFailure.None;

    /// <summary>Why it was refused, or <see cref="SignatureFailure.None"/>.</summary>
    public SignatureFailure Failure { get; init; }

    /// <summary>What was verified or what was wrong, e.g. <c>'sig1' does not cover the required component "content-digest"</c>.</summary>
    public required string Message { get; init; }

    /// <summary>The label of the signature (e.g. <c>sig1</c>), once chosen.</summary>
    public string? Label { get; init; }

    /// <summary>The <c>keyid</c> parameter.</summary>
    public string? KeyId { get; init; }

    /// <summary>The <c>nonce</c> parameter, for replay detection.</summary>
    public string? Nonce { get; init; }

    /// <summary>The <c>tag</c> parameter.</summary>
    public string? Tag { get; init; }

    /// <summary>The <c>created</c> parameter.</summary>
    public DateTimeOffset? Created { get; init; }

    /// <summary>The <c>expires</c> parameter.</summary>
    public DateTimeOffset? Expires { get; init; }

    /// <summary>The algorithm of the key that verified it.</summary>
    public SignatureAlgorithm? Algorithm { get; init; }

    /// <summary>The covered components in order, e.g. <c>@method</c>, <c>content-digest</c>, <c>@authority;req</c>.</summary>
    public IReadOnlyList<string> CoveredComponents { get; init; } = [];

    /// <summary>A refusal.</summary>
    public static SignatureVerification Fail(SignatureFailure failure, string message, string? label = null) =>
        failure == SignatureFailure.None
            ? throw new ArgumentException("A failure needs a reason.", nameof(failure))
            : new() { Failure = failure, Message = message, Label = label };
}

/// <summary>What <see cref="HttpMessageVerifier.Verify"/> requires of a signature.</summary>
public sealed record VerifyOptions
{
    /// <summary><c>@method @authority @path content-type content-digest a2a-version</c>.</summary>
    public static IReadOnlyList<string> DefaultRequiredComponents { get; } =
        ["@method", "@authority", "@path", "content-type", "content-digest", "a2a-version"];

    /// <summary><c>created keyid nonce</c>.</summary>
    public static IReadOnlyList<string> DefaultRequiredParameters { get; } = ["created", "keyid", "nonce"];

    /// <summary>The defaults.</summary>
    public static VerifyOptions Default { get; } = new();

    /// <summary>Components the signature must cover (names, without parameters).</summary>
    public IReadOnlyList<string> RequiredComponents { get; init; } = DefaultRequiredComponents;

    /// <summary>A request with a query must have <c>@query</c> covered (default true).</summary>
    public bool RequireQueryWhenPresent { get; init; } = true;

    /// <summary>Signature parameters that must be present.</summary>
    public IReadOnlyList<string> RequiredParameters { get; init; } = DefaultRequiredParameters;

    /// <summary>How far <c>created</c> may be from now, either way (default 60 s).</summary>
    public TimeSpan MaxSkew { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The clock.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// The label of the signature to verify. Default: the first label of <c>Signature-Input</c> that also has a
    /// <c>Signature</c> member; the others are ignored.
    /// </summary>
    public string? Label { get; init; }

    /// <summary>The algorithms accepted (default: any supported); a key of another algorithm is refused as <see cref="SignatureFailure.WrongAlgorithm"/>.</summary>
    public IReadOnlyList<SignatureAlgorithm>? AllowedAlgorithms { get; init; }
}
