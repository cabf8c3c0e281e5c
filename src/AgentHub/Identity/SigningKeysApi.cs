using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentHub.Identity;

/// <summary>The hub's public keys (anonymous JWKS) and their rotation (admin).</summary>
internal static class SigningKeysApi
{
    public static RouteGroupBuilder MapSigningKeys(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/.well-known/jwks.json", Jwks).AllowAnonymous().WithTags("Keys");

        var group = routes.MapGroup("/api/v1/signing-keys").WithTags("Keys").RequireAuthorization(Policies.Admin);
        group.MapGet("/", List);
        group.MapPost("/rotate", Rotate);
        return group;
    }

    internal static async Task<Ok<JwkSet>> Jwks(SigningKeyStore store, HttpContext context, CancellationToken ct)
    {
        var keys = await store.ListAsync(ct);
        // Verifiers may cache briefly; a rotated-in key is fetched again when its kid is unknown to them.
        context.Response.Headers.CacheControl = "public, max-age=60";
        return TypedResults.Ok(new JwkSet(keys.Select(k => k.PublicKey).ToList()));
    }

    internal static async Task<Ok<IReadOnlyList<SigningKeyResponse>>> List(SigningKeyStore store, CancellationToken ct) =>
        TypedResults.Ok<IReadOnlyList<SigningKeyResponse>>((await store.ListAsync(ct)).Select(ToResponse).ToList());

    internal static async Task<Created<SigningKeyResponse>> Rotate(SigningKeyStore store, System.Security.Claims.ClaimsPrincipal user, CancellationToken ct)
    {
        var key = await store.RotateAsync(ct, user.PrincipalId());
        return TypedResults.Created($"/api/v1/signing-keys", ToResponse(key));
    }

    private static SigningKeyResponse ToResponse(SigningKeyInfo k) => new(k.Kid, k.Algorithm, k.Active, k.CreatedAt, k.RetiredAt);
}
