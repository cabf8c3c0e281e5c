using System.Security.Claims;
using System.Text.Encodings.Web;
using AgentHub.Audit;
using AgentHub.Observability;
using AgentHub.Storage;
using AgentHub.Vault;
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
    AuditLog audit,
    SecretBox secrets,
    HubMetrics metrics,
    TimeProvider time)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    public const string SchemeName = "ApiKey";
    private static readonly TimeSpan TouchInterval = TimeSpan.FromMinutes(1);
    private readonly ILogger _log = loggerFactory.CreateLogger<ApiKeyAuthenticationHandler>();

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (Context.GetEndpoint()?.Metadata.GetMetadata<OwnAuthenticationMetadata>() is not null)
        {
            // The endpoint checks its caller itself (e.g. the demo agent checks the hub's JWT): no API key is expected.
            return AuthenticateResult.NoResult();
        }

        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header))
        {
            return AuthenticateResult.NoResult();
        }

        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return await FailAsync("unsupported_scheme", "Use 'Authorization: Bearer <API key>'.", null, header);
        }

        var token = header["Bearer ".Length..].Trim();
        if (!ApiKeyFormat.TryParse(token, out var keyId, out var secret))
        {
            return await FailAsync("malformed", "The API key is malformed.", null, token);
        }

        var found = await keys.FindForAuthenticationAsync(keyId, Context.RequestAborted);
        if (found is not { } entry || !ApiKeyFormat.Matches(secret, entry.SecretHash))
        {
            return await FailAsync("invalid", "The API key is not valid.", keyId, token);
        }

        var key = entry.Key;
        var now = time.GetUtcNow();
        if (key.RevokedAt is not null)
        {
            return await FailAsync("revoked", "The API key has been revoked.", keyId, null);
        }

        if (key.ExpiresAt is { } expires && expires <= now)
        {
            return await FailAsync("expired", "The API key has expired.", keyId, null);
        }

        // Fail closed: no durable record of this authentication, no request. An endpoint that defers the record writes
        // it with its own first record, before it answers (see DeferredAuthAudit).
        var record = new AuditEvent(AuditTypes.AuthSuccess, key.PrincipalId, key.Id, AuditOutcome.Success,
            new Dictionary<string, string> { ["method"] = Request.Method, ["path"] = Request.Path.Value ?? "/", ["address"] = Address() });
        if (Context.GetEndpoint()?.Metadata.GetMetadata<DeferAuthAuditMetadata>() is not null)
        {
            Context.Features.Set(new DeferredAuthAudit(record));
        }
        else
        {
            try
            {
                await audit.AppendAsync(record);
            }
            catch (AuditUnavailableException e) when (StorageFull.Is(e) && IsRead() && audit.Hold(record))
            {
                // A full disk refuses writes, not reads: the record waits in memory until there is room again.
                // the route pattern, never the URL: a caller may put a credential in a URL by mistake
                LogReadOnFullDisk(key.PrincipalId, key.Id, Request.Method, (Context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(no endpoint)");
            }
        }

        if (key.LastUsedAt is null || now - key.LastUsedAt > TouchInterval)
        {
            try
            {
                await keys.TouchAsync(key.Id, now, Context.RequestAborted);
            }
            catch (System.Data.Common.DbException e) when (StorageFull.Is(e))
            {
                // last_used_at is a convenience for operators; it is written again on a later request
            }
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

    private async Task<AuthenticateResult> FailAsync(string reason, string message, string? keyId, string? presented)
    {
        LogRejected(keyId ?? "-", reason);
        metrics.AuthFailure(reason);
        var details = new Dictionary<string, string> { ["reason"] = reason, ["method"] = Request.Method, ["path"] = Request.Path.Value ?? "/", ["address"] = Address() };
        if (presented is not null)
        {
            // Searchable (the same bad credential gives the same value) without storing it.
            details["credential_hmac"] = secrets.Fingerprint("audit/credential", presented);
        }

        await audit.AppendAsync(new AuditEvent(AuditTypes.AuthFailure, "anonymous", keyId, AuditOutcome.Failure, details));
        Context.Items[typeof(AuthFailure)] = new AuthFailure(reason, message);
        return AuthenticateResult.Fail(message);
    }

    private bool IsRead() => HttpMethods.IsGet(Request.Method) || HttpMethods.IsHead(Request.Method);

    private string Address() => Context.Connection.RemoteIpAddress?.ToString() ?? "unknown";

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

    [LoggerMessage(EventId = 1202, Level = LogLevel.Warning,
        Message = "Storage full: {Principal} (key {KeyId}) read {Method} {Route}; its auth.success record is held in memory until the disk has room")]
    private partial void LogReadOnFullDisk(string principal, string keyId, string method, string route);

    private sealed record AuthFailure(string Reason, string Message);
}

internal static class ClaimsPrincipalExtensions
{
    public static string PrincipalId(this ClaimsPrincipal user) =>
        user.FindFirstValue(HubClaims.Principal) ?? throw new InvalidOperationException("The caller is not authenticated.");

    public static bool IsAdmin(this ClaimsPrincipal user) => user.IsInRole(Roles.Admin);
}

/// <summary>Marks an anonymous endpoint that authenticates its callers itself, so the API-key handler stays out of it.</summary>
internal sealed class OwnAuthenticationMetadata;
