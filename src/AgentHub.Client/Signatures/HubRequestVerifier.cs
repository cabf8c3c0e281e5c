using System.Text.Json;

namespace AgentHub.Client.Signatures;

/// <summary>
/// For an agent receiving calls through the hub: checks that a request was forwarded by the hub. It checks
/// (a) the hub's JWT in <c>Authorization: Bearer</c> (ES256, a kid from the hub's JWKS, <c>iss</c> the hub,
/// <c>aud</c> this agent, not expired), (b) the hub's RFC 9421 signature (<c>ecdsa-p256-sha256</c> with a key from the
/// JWKS, covering <see cref="HubRequestVerifierOptions.RequiredComponents"/> with <c>created</c>, <c>keyid</c> and
/// <c>nonce</c>) and (c) <c>Content-Digest</c> against the body.
/// </summary>
/// <example>
/// In an ASP.NET Core agent, with one <see cref="HubJwks"/> and one verifier for the app's lifetime:
/// <code>
/// var target = context.Features.Get&lt;IHttpRequestFeature&gt;()!.RawTarget; // path and query as sent
/// var q = target.IndexOf('?');
/// var request = new SignatureRequest(context.Request.Method, context.Request.Host.Value!,
///     q &lt; 0 ? target : target[..q], q &lt; 0 ? null : target[q..],
///     name =&gt; SignatureMessage.CombineFieldLines(context.Request.Headers.TryGetValue(name, out var v) ? v : default))
/// { Scheme = context.Request.Scheme };
/// var result = await verifier.VerifyAsync(request, body, context.RequestAborted);
/// if (!result.Success) { /* 401 with result.Message */ }
/// </code>
/// </example>
public sealed class HubRequestVerifier
{
    private readonly HubJwks _jwks;
    private readonly string _agentId;
    private readonly HubRequestVerifierOptions _options;
    private readonly VerifyOptions _verifyOptions;

    /// <summary>A verifier for calls to agent <paramref name="agentId"/> (the JWT audience).</summary>
    public HubRequestVerifier(HubJwks jwks, string agentId, HubRequestVerifierOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(jwks);
        ArgumentException.ThrowIfNullOrEmpty(agentId);
        _jwks = jwks;
        _agentId = agentId;
        _options = options ?? new HubRequestVerifierOptions();
        _verifyOptions = new VerifyOptions
        {
            RequiredComponents = _options.RequiredComponents,
            MaxSkew = _options.MaxSkew,
            TimeProvider = _options.TimeProvider,
            AllowedAlgorithms = [SignatureAlgorithm.EcdsaP256Sha256],
        };
    }

    /// <summary>Verifies <paramref name="request"/> and its <paramref name="body"/>; bad input gives a failure result, never an exception.</summary>
    /// <param name="request">The request as received (its Header function must return <c>authorization</c>, <c>signature-input</c>, <c>signature</c> and the covered fields).</param>
    /// <param name="body">The request body as received.</param>
    /// <param name="cancellationToken">Cancels a JWKS fetch.</param>
    public async Task<HubRequestVerification> VerifyAsync(SignatureRequest request, ReadOnlyMemory<byte> body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var authorization = request.Header("authorization");
        if (authorization is null || !authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || authorization.Length <= 7)
        {
            return HubRequestVerification.Fail(HubRequestFailure.MissingToken, "The request has no 'Authorization: Bearer' hub token.");
        }

        var jwt = authorization[7..].Trim();
        try
        {
            await _jwks.EnsureFreshAsync(cancellationToken).ConfigureAwait(false);
            var token = ValidateToken(jwt);
            if (token.Failure == HubTokenFailure.UnknownKey && await _jwks.RefetchForUnknownKidAsync(cancellationToken).ConfigureAwait(false))
            {
                token = ValidateToken(jwt);
            }

            if (!token.Success)
            {
                return HubRequestVerification.Fail(HubRequestFailure.BadToken, "Hub token refused: " + token.Message, token);
            }

            var signature = VerifySignature(request);
            if (signature.Failure == SignatureFailure.UnknownKey && await _jwks.RefetchForUnknownKidAsync(cancellationToken).ConfigureAwait(false))
            {
                signature = VerifySignature(request);
            }

            if (!signature.Success)
            {
                return HubRequestVerification.Fail(HubRequestFailure.BadSignature, "Hub signature refused: " + signature.Message, token, signature);
            }

            var digest = ContentDigest.Verify(request.Header("content-digest"), body.Span);
            if (!digest.Success)
            {
                return HubRequestVerification.Fail(HubRequestFailure.BadDigest, digest.Message, token, signature);
            }

            return new HubRequestVerification
            {
                Message = $"Forwarded by the hub for \"{token.Subject}\" (token key '{token.Kid}', signature key '{signature.KeyId}').",
                Caller = token.Subject,
                Actors = token.Actors,
                Kid = token.Kid,
                Token = token,
                Signature = signature,
            };
        }
        catch (Exception e) when (e is HttpRequestException or JsonException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return HubRequestVerification.Fail(HubRequestFailure.KeysUnavailable, "The hub's keys could not be fetched: " + e.Message);
        }
    }

    private HubTokenValidation ValidateToken(string jwt) =>
        HubTokenValidator.Validate(jwt, kid => _jwks.TryGetCachedKey(kid)?.EcdsaKey, _agentId, _options.TimeProvider, _options.MaxSkew,
            _options.Issuer);

    private SignatureVerification VerifySignature(SignatureRequest request) =>
        HttpMessageVerifier.Verify(request, request.Header("signature-input"), request.Header("signature"), _verifyOptions,
            kid => _jwks.TryGetCachedKey(kid));
}

/// <summary>What <see cref="HubRequestVerifier"/> requires.</summary>
public sealed record HubRequestVerifierOptions
{
    /// <summary>The default required components plus <c>agenthub-caller</c>.</summary>
    public static IReadOnlyList<string> DefaultRequiredComponents { get; } = [.. VerifyOptions.DefaultRequiredComponents, "agenthub-caller"];

    /// <summary>Components the hub's signature must cover (and <c>@query</c> when the request has a query).</summary>
    public IReadOnlyList<string> RequiredComponents { get; init; } = DefaultRequiredComponents;

    /// <summary>Clock skew allowed for the token's times and the signature's <c>created</c> (default 60 s).</summary>
    public TimeSpan MaxSkew { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The clock.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>The token issuer (default <c>agenthub</c>).</summary>
    public string Issuer { get; init; } = HubTokenValidator.DefaultIssuer;
}

/// <summary>Why a forwarded request was refused.</summary>
public enum HubRequestFailure
{
    /// <summary>It was not refused.</summary>
    None,

    /// <summary>No <c>Authorization: Bearer</c> token.</summary>
    MissingToken,

    /// <summary>The hub's JWKS could not be fetched.</summary>
    KeysUnavailable,

    /// <summary>The token was refused (see <see cref="HubRequestVerification.Token"/>).</summary>
    BadToken,

    /// <summary>The signature was refused (see <see cref="HubRequestVerification.Signature"/>).</summary>
    BadSignature,

    /// <summary>The <c>Content-Digest</c> is missing or does not match the body.</summary>
    BadDigest,
}

/// <summary>The outcome of <see cref="HubRequestVerifier.VerifyAsync"/>.</summary>
public sealed record HubRequestVerification
{
    /// <summary>The request came through the hub, unaltered.</summary>
    public bool Success => Failure == HubRequestFailure.None;

    /// <summary>Why it was refused, or <see cref="HubRequestFailure.None"/>.</summary>
    public HubRequestFailure Failure { get; init; }

    /// <summary>What was checked or what was wrong.</summary>
    public required string Message { get; init; }

    /// <summary>The caller the hub vouches for (the token's <c>sub</c>).</summary>
    public string? Caller { get; init; }

    /// <summary>The RFC 8693 actor chain of the token (empty when none).</summary>
    public IReadOnlyList<string> Actors { get; init; } = [];

    /// <summary>The kid of the token's key.</summary>
    public string? Kid { get; init; }

    /// <summary>The token check, once it ran.</summary>
    public HubTokenValidation? Token { get; init; }

    /// <summary>The signature check, once it ran.</summary>
    public SignatureVerification? Signature { get; init; }

    internal static HubRequestVerification Fail(HubRequestFailure failure, string message, HubTokenValidation? token = null,
        SignatureVerification? signature = null) =>
        new() { Failure = failure, Message = message, Token = token, Signature = signature };
}
