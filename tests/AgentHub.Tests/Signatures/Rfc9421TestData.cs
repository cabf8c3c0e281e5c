using System.Security.Cryptography;
using AgentHub.Client.Signatures;

namespace AgentHub.Tests.Signatures;

/// <summary>
/// The keys (RFC 9421 Appendix B.1, in TestData/) and the test messages (Appendix B.2) of RFC 9421.
/// </summary>
internal static class Rfc9421TestData
{
    /// <summary>B.2: <c>created</c> of the examples.</summary>
    public const long Created = 1618884473;

    public const string RequestBody = """{"hello": "world"}""";
    public const string RequestDigest = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:";
    public const string ResponseBody = """{"message": "good dog"}""";
    public const string ResponseDigest = "sha-512=:mEWXIS7MaLRuGgxOBdODa3xqM1XdEvxoYhvlCFJ41QJgJc4GTsPp29l5oGX69wWdXymyU0rjJuahq4l5aGgfLQ==:";

    public static string File(string name) =>
        System.IO.File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Signatures", "TestData", name));

    /// <summary>B.1.3 <c>test-key-ecc-p256</c>, private key.</summary>
    public static ECDsa EccP256Private()
    {
        var key = ECDsa.Create();
        key.ImportFromPem(File("rfc9421-test-key-ecc-p256.pem"));
        return key;
    }

    /// <summary>B.1.3 <c>test-key-ecc-p256</c>, public key only.</summary>
    public static ECDsa EccP256Public()
    {
        var key = ECDsa.Create();
        key.ImportFromPem(File("rfc9421-test-key-ecc-p256.pub.pem"));
        return key;
    }

    /// <summary>B.1.5 <c>test-shared-secret</c>.</summary>
    public static byte[] SharedSecret() => Convert.FromBase64String(File("rfc9421-test-shared-secret.txt").Trim());

    /// <summary>
    /// B.2 test-request: <c>POST /foo?param=Value&amp;Pet=dog</c> to <c>example.com</c> with Date, Content-Type,
    /// Content-Digest and Content-Length.
    /// </summary>
    public static SignatureRequest TestRequest(params (string Name, string Value)[] extra) =>
        new("POST", "example.com", "/foo", "?param=Value&Pet=dog", Fields(
        [
            ("Host", "example.com"),
            ("Date", "Tue, 20 Apr 2021 02:07:55 GMT"),
            ("Content-Type", "application/json"),
            ("Content-Digest", RequestDigest),
            ("Content-Length", "18"),
            .. extra,
        ]));

    /// <summary>B.2 test-response: <c>200 OK</c> with Date, Content-Type, Content-Digest and Content-Length.</summary>
    public static SignatureResponse TestResponse(params (string Name, string Value)[] extra) =>
        new(200, Fields(
        [
            ("Date", "Tue, 20 Apr 2021 02:07:56 GMT"),
            ("Content-Type", "application/json"),
            ("Content-Digest", ResponseDigest),
            ("Content-Length", "23"),
            .. extra,
        ]));

    /// <summary>A case-insensitive field lookup over field lines (repeated names are combined per RFC 9421 §2.1).</summary>
    public static Func<string, string?> Fields(IEnumerable<(string Name, string Value)> fields)
    {
        var lines = fields.ToList();
        return name => SignatureMessage.CombineFieldLines(
            lines.Where(f => string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase)).Select(f => f.Value).ToList() is { Count: > 0 } found
                ? found
                : null);
    }
}
