using System.ComponentModel.DataAnnotations;

namespace AgentHub.Identity;

/// <summary>POST /api/v1/keys. Public because the validation generator only sees public request types.</summary>
public sealed class CreateKeyRequest
{
    /// <summary><c>user:&lt;name&gt;</c>; created when it does not exist yet.</summary>
    [Required(ErrorMessage = "principal is required.")]
    [RegularExpression("^user:[a-z0-9][a-z0-9._-]{0,62}$",
        ErrorMessage = "principal must be user:<name>, the name 1-63 characters of a-z, 0-9, '.', '_' or '-' (agent keys are issued when an agent is registered).")]
    public string Principal { get; init; } = null!;

    [Required(ErrorMessage = "role is required.")]
    [AllowedValues(Roles.Admin, Roles.Operator, Roles.Auditor, ErrorMessage = "role must be one of admin, operator, auditor.")]
    public string Role { get; init; } = null!;

    [StringLength(100, ErrorMessage = "name is at most 100 characters.")]
    public string? Name { get; init; }

    /// <summary>Optional expiry; must be in the future.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }
}

internal sealed record KeyResponse(
    string Id,
    string Principal,
    string Role,
    string? Name,
    bool Active,
    DateTimeOffset CreatedAt,
    string CreatedBy,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? RevokedAt,
    string? RevokedBy,
    DateTimeOffset? LastUsedAt)
{
    public static KeyResponse From(ApiKeyRecord k, DateTimeOffset now) => new(k.Id, k.PrincipalId, k.Role, k.Name,
        k.IsActiveAt(now), k.CreatedAt, k.CreatedBy, k.ExpiresAt, k.RevokedAt, k.RevokedBy, k.LastUsedAt);
}

/// <summary>The only response that ever carries the key itself.</summary>
internal sealed record CreatedKeyResponse(
    string Id,
    string Key,
    string Principal,
    string Role,
    string? Name,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt);

internal sealed record PageResponse<T>(IReadOnlyList<T> Items, string? Next);

internal sealed record PrincipalResponse(string Id, string Kind, DateTimeOffset CreatedAt, string? CreatedBy, int ActiveKeys);

internal sealed record WhoAmIResponse(string Principal, string Role, string KeyId);

internal sealed record SigningKeyResponse(string Kid, string Algorithm, bool Active, DateTimeOffset CreatedAt, DateTimeOffset? RetiredAt);
