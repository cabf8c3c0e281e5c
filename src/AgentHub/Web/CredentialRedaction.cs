using System.Text.RegularExpressions;

namespace AgentHub.Web;

/// <summary>
/// Keeps credentials out of error answers. Many errors quote the value they refuse, so a caller who pastes a key, a
/// token or a provider key into the wrong field would get it back in a body that ends up in client logs, proxies and
/// tickets. Every problem detail and JSON-RPC error message passes through <see cref="Redact"/>, which replaces what
/// looks like an AgentHub API key (its secret part; the key id is public), a JWT/JWS, or a provider-style secret key.
/// </summary>
internal static partial class CredentialRedaction
{
    public const string Replacement = "(redacted: looks like a credential)";

    public static string Redact(string text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text;
        }

        return Credential().Replace(text, m => m.Groups["keyid"].Success ? $"ahk_{m.Groups["keyid"].Value}_{Replacement}" : Replacement);
    }

    // ahk_<id>_<secret>; eyJ….eyJ…(.…) compact JWT/JWS; sk-/pk-/rk- style provider keys of 16+ characters with an
    // upper-case letter and a digit (so a lower-case id such as an agent's 'sk-learn-router' stays readable).
    [GeneratedRegex(@"ahk_(?<keyid>[A-Za-z0-9]{1,64})_[A-Za-z0-9_\-]{8,}|eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}(\.[A-Za-z0-9_\-]*)?|\b(sk|pk|rk)-(?=[A-Za-z0-9_\-]*[A-Z])(?=[A-Za-z0-9_\-]*[0-9])[A-Za-z0-9_\-]{16,}",
        RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 100)]
    private static partial Regex Credential();
}
