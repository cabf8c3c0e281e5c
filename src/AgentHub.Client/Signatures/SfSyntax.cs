namespace AgentHub.Client.Signatures;

/// <summary>Character classes of RFC 8941 (ABNF in §3) and RFC 9110 tchar.</summary>
internal static class SfSyntax
{
    public static bool IsDigit(char c) => c is >= '0' and <= '9';

    public static bool IsAlpha(char c) => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z');

    public static bool IsLcAlpha(char c) => c is >= 'a' and <= 'z';

    public static bool IsKeyStart(char c) => IsLcAlpha(c) || c == '*';

    public static bool IsKeyChar(char c) => IsLcAlpha(c) || IsDigit(c) || c is '_' or '-' or '.' or '*';

    public static bool IsTokenStart(char c) => IsAlpha(c) || c == '*';

    public static bool IsTChar(char c) =>
        IsAlpha(c) || IsDigit(c) || c is '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-' or '.' or '^' or '_' or '`' or '|' or '~';

    public static bool IsTokenChar(char c) => IsTChar(c) || c is ':' or '/';

    public static bool IsBase64Char(char c) => IsAlpha(c) || IsDigit(c) || c is '+' or '/' or '=';

    public static bool IsKey(string key)
    {
        if (key.Length == 0 || !IsKeyStart(key[0]))
        {
            return false;
        }

        foreach (var c in key)
        {
            if (!IsKeyChar(c))
            {
                return false;
            }
        }

        return true;
    }

    public static bool IsToken(string token)
    {
        if (token.Length == 0 || !IsTokenStart(token[0]))
        {
            return false;
        }

        foreach (var c in token)
        {
            if (!IsTokenChar(c))
            {
                return false;
            }
        }

        return true;
    }

    public static void ThrowIfNotKey(string key, string paramName)
    {
        ArgumentNullException.ThrowIfNull(key, paramName);
        if (!IsKey(key))
        {
            throw new ArgumentException($"'{key}' is not a Structured Field key (lowercase letters, digits, '_', '-', '.', '*'; starting with a letter or '*').", paramName);
        }
    }
}
