using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AgentHub.Agents;

/// <summary>
/// The card the hub serves for an agent: the original with <c>supportedInterfaces</c> pointing at the hub's
/// <c>/a2a/{id}</c> and security describing the hub's bearer authentication; every other member unchanged, except
/// <c>signatures</c>, which <see cref="ServedCards"/> replaces with the hub's own.
/// </summary>
internal static class HubCard
{
    public const string SchemeName = "agenthub";

    public static JsonObject Rewrite(byte[] original, string agentUrl)
    {
        var card = JsonNode.Parse(original, documentOptions: new JsonDocumentOptions { MaxDepth = 64 })!.AsObject();
        card["supportedInterfaces"] = new JsonArray(new JsonObject
        {
            ["url"] = agentUrl,
            ["protocolBinding"] = "JSONRPC",
            ["protocolVersion"] = "1.0",
        });
        card["securitySchemes"] = new JsonObject
        {
            [SchemeName] = new JsonObject
            {
                ["httpAuthSecurityScheme"] = new JsonObject
                {
                    ["scheme"] = "Bearer",
                    ["description"] = "An AgentHub API key or hub-issued token: 'Authorization: Bearer <key>'.",
                },
            },
        };
        card["securityRequirements"] = new JsonArray(new JsonObject
        {
            ["schemes"] = new JsonObject { [SchemeName] = new JsonObject { ["list"] = new JsonArray() } },
        });
        return card;
    }

    /// <summary>A strong ETag over the served bytes.</summary>
    public static string ETag(byte[] served) => "\"" + Convert.ToBase64String(SHA256.HashData(served))
        .TrimEnd('=').Replace('+', '-').Replace('/', '_') + "\"";

    /// <summary>True when an <c>If-None-Match</c> header lists <paramref name="etag"/> (or is <c>*</c>).</summary>
    public static bool Matches(string? ifNoneMatch, string etag) =>
        !string.IsNullOrEmpty(ifNoneMatch) && ifNoneMatch.Split(',').Select(t => t.Trim())
            .Any(t => t == "*" || t == etag || t == "W/" + etag);
}
