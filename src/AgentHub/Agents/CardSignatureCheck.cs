using System.Text.Json;
using System.Text.Json.Nodes;
using AgentHub.Client.Signatures;

namespace AgentHub.Agents;

/// <summary>The verdict on a registered card's signatures, kept with its version (<c>agent_versions.card_signature*</c>).</summary>
/// <param name="Status"><c>verified</c>, <c>unsigned</c> or <c>invalid</c>.</param>
/// <param name="Detail">One sentence: which signature verified with which key, or what is wrong.</param>
/// <param name="Keys">The <c>cardKeys</c> given with the registration, as a canonical JWKS of public keys (null: none).</param>
internal sealed record CardSignature(string Status, string? Detail, string? Keys)
{
    public const string Verified = "verified";
    public const string UnsignedStatus = "unsigned";
    public const string Invalid = "invalid";

    public static readonly CardSignature Unsigned = new(UnsignedStatus, null, null);

    public bool IsInvalid => Status == Invalid;

    /// <summary>The key ids of <see cref="Keys"/>, comma-separated, for the audit record.</summary>
    public string? KeyIds() =>
        Keys is null ? null : string.Join(',', (JsonNode.Parse(Keys)!["keys"]!.AsArray()).Select(k => k!["kid"]!.GetValue<string>()));
}

/// <summary>
/// Registration's check of a card's <c>signatures</c> (A2A v1.0 §8.4) against the <c>cardKeys</c> the registrant gives.
/// <list type="bullet">
/// <item><c>verified</c>: at least one signature verifies with a key from <c>cardKeys</c>, and no signature is bad (fails
/// with a key from <c>cardKeys</c>) or malformed; signatures by other keys or with other algorithms are ignored.</item>
/// <item><c>unsigned</c>: the card has no signatures and no <c>cardKeys</c> were given.</item>
/// <item><c>invalid</c>: everything else, and in particular a signed card registered without <c>cardKeys</c> (the hub
/// cannot tell who signed it) and an unsigned card registered with <c>cardKeys</c> (the signature the registrant expects
/// is missing: stripped on the way, or never made).</item>
/// </list>
/// </summary>
internal static class CardSignatureCheck
{
    /// <summary>Reads <c>cardKeys</c>; problems go to <paramref name="errors"/> keyed <c>cardKeys…</c>.</summary>
    public static AgentCardKeys? ParseKeys(JsonElement? cardKeys, Dictionary<string, string[]> errors)
    {
        if (cardKeys is not { ValueKind: not JsonValueKind.Null } element)
        {
            return null;
        }

        if (AgentCardKeys.TryParse(JsonNode.Parse(element.GetRawText()), out var keys, out var problems))
        {
            return keys;
        }

        foreach (var (path, message) in problems)
        {
            errors[path.Length == 0 ? "cardKeys" : $"cardKeys.{path}"] = [message];
        }

        return null;
    }

    public static CardSignature Verify(JsonElement card, AgentCardKeys? keys)
    {
        var keysJson = keys is null ? null : System.Text.Encoding.UTF8.GetString(Jcs.Canonicalize(keys.ToJwks()));
        JsonObject node;
        try
        {
            node = JsonNode.Parse(card.GetRawText())!.AsObject();
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
        {
            // Duplicate member names: verifiers would disagree on which value was signed.
            return new(CardSignature.Invalid, "The card cannot be read as one JSON object (duplicate member names?).", keysJson);
        }

        var verdict = AgentCardSignatures.Verify(node, keys);
        var signatures = verdict.Signatures.Count;
        return verdict.Status switch
        {
            AgentCardSignatureStatus.Unsigned when keys is null => CardSignature.Unsigned,
            AgentCardSignatureStatus.Unsigned => new(CardSignature.Invalid,
                "cardKeys were given but the card carries no signatures: it was never signed, or its signatures were removed on the way.", keysJson),
            AgentCardSignatureStatus.Invalid when keys is null => new(CardSignature.Invalid, Bounded(
                $"The card carries {signatures} signature(s) but no cardKeys were given, so the hub cannot tell who signed it: " +
                $"give the signer's public keys in cardKeys. {verdict.Detail}"), null),
            AgentCardSignatureStatus.Verified => new(CardSignature.Verified, Bounded(verdict.Detail), keysJson),
            _ => new(CardSignature.Invalid, Bounded(verdict.Detail), keysJson),
        };
    }

    /// <summary>The 400 for an invalid signature the registrant did not allow.</summary>
    public static Microsoft.AspNetCore.Http.HttpResults.ValidationProblem Refusal(CardSignature signature) =>
        TypedResults.ValidationProblem(
            new Dictionary<string, string[]> { ["card.signatures"] = [signature.Detail!] },
            detail: "The card's signatures do not vouch for it. Give the signer's public keys in cardKeys, or set " +
                    "allowInvalidSignature to register the card recorded as invalid.",
            title: "Invalid Agent Card signature");

    private static string Bounded(string detail) => detail.Length <= 1000 ? detail : detail[..1000] + "…";
}
