using System.Security.Claims;
using System.Text.Encodings.Web;
using AgentHub.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace AgentHub.Identity;

/// <summary>
/// <c>Authorization: Bearer ahk_…</c>. The key id selects one row; the secret is checked against its hash in
/// constant time; then revocation and expiry. Failures answer 401 with <c>WWW-Authenticate</c> and a ProblemDetails
/// body; a wrong secret and an unknown id get the same answer.
/// </summary>
internal sealed partial class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    IApiKeyStore keys,
    TimeProvider time)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    public const string SchemeName = "ApiKey";
    private static readonly TimeSpan TouchInterval = TimeSpan.FromMinutes(1);
    private readonly ILogger _log = loggerFactory.CreateLogger<ApiKeyAuthenticationHandler>();

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header))
        {
            return AuthenticateResult.NoResult();
        }

        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return Fail("unsupported_scheme", "Use 'Authorization: Bearer <API key>'.");
        }

        var token = header["Bearer ".Length..].Trim();
        if (!ApiKeyFormat.TryParse(token, out var keyId, out var secret))
        {
            return Fail("malformed", "The API key is malformed.");
        }

        var found = await keys.FindForAuthenticationAsync(keyId, Context.RequestAborted);
        if (found is not { } entry || !ApiKeyFormat.Matches(secret, entry.SecretHash))
        {
            LogRejected(keyId, "invalid");
            return Fail("invalid", "The API key is not valid.");
        }

        var key = entry.Key;
        var now = time.GetUtcNow();
        if (key.RevokedAt is not null)
        {
            LogRejected(keyId, "revoked");
            return Fail("revoked", "The API key has been revoked.");
        }

        if (key.ExpiresAt is { } expires && expires <= now)
        {
            LogRejected(keyId, "expired");
            return Fail("expired", "The API key has expired.");
        }

        if (key.LastUsedAt is null || now - key.LastUsedAt > TouchInterval)
        {
            await keys.TouchAsync(key.Id, now, Context.RequestAborted);
        }

        var identity = new ClaimsIdentity(
            [
                new Claim(HubClaims.Principal, key.PrincipalId),
                new Claim(HubClaims.Role, key.Role),
                new Claim(HubClaims.KeyId, key.Id),
            ],
            SchemeName, HubClaims.Principal, HubClaims.Role);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    private AuthenticateResult Fail(string reason, string message)
    {
        Context.Items[typeof(AuthFailure)] = new AuthFailure(reason, message);
        return AuthenticateResult.Fail(message);
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var failure = Context.Items[typeof(AuthFailure)] as AuthFailure;
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = failure is null
            ? "Bearer realm=\"agenthub\""
            : $"Bearer realm=\"agenthub\", error=\"invalid_token\", error_description=\"{failure.Message}\"";
        await Problems.WriteAsync(Context, StatusCodes.Status401Unauthorized, "Authentication required",
            failure?.Message ?? "Send an API key as 'Authorization: Bearer <key>'.");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        Problems.WriteAsync(Context, StatusCodes.Status403Forbidden, "Forbidden",
            "Your role does not allow this operation.");

    [LoggerMessage(EventId = 1201, Level = LogLevel.Warning, Message = "API key {KeyId} refused: {Reason}")]
    private partial void LogRejected(string keyId, string reason);

    private sealed record AuthFailure(string Reason, string Message);
}

internal static class ClaimsPrincipalExtensions
{
    public static string PrincipalId(this ClaimsPrincipal user) =>
        user.FindFirstValue(HubClaims.Principal) ?? throw new InvalidOperationException("The caller is not authenticated.");

    public static bool IsAdmin(this ClaimsPrincipal user) => user.IsInRole(Roles.Admin);
}
