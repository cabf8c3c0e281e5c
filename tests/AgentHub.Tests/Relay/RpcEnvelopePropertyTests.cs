using System.Text;
using System.Text.Json;
using AgentHub.Relay;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AgentHub.Tests.Relay;

/// <summary>
/// The relay's JSON-RPC envelope parser on generated input: whatever the bytes, it answers an envelope or a JSON-RPC
/// error code (never an exception, so never a 500), the id it echoes is JSON, and valid envelopes keep their method and id.
/// </summary>
public sealed class RpcEnvelopePropertyTests
{
    private static readonly int[] ErrorCodes = [RpcCodes.ParseError, RpcCodes.InvalidRequest, RpcCodes.MethodNotFound, RpcCodes.InvalidParams];

    private static readonly byte[][] Seeds =
    [
        """{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"text":"hi"}],"taskId":"t1"}}}"""u8.ToArray(),
        """{"jsonrpc":"2.0","id":"a","method":"GetTask","params":{"id":"t2"}}"""u8.ToArray(),
        """{"jsonrpc":"2.0","id":3,"method":"CreateTaskPushNotificationConfig","params":{"taskId":"t","config":{"url":"https://x.example/h"}}}"""u8.ToArray(),
    ];

    // Bytes that matter to a JSON reader, and some that break UTF-8 or UTF-16.
    private static readonly byte[][] Fragments =
    [
        "{"u8.ToArray(), "}"u8.ToArray(), "["u8.ToArray(), "]"u8.ToArray(), "\""u8.ToArray(), ":"u8.ToArray(), ","u8.ToArray(),
        "\\"u8.ToArray(), "\\ud800"u8.ToArray(), "\\udc00"u8.ToArray(), "\\u0000"u8.ToArray(), "null"u8.ToArray(), "1e999"u8.ToArray(),
        [0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0x80], [0x00],
        "\"id\":"u8.ToArray(), "\"method\":"u8.ToArray(), "\"params\":"u8.ToArray(), "\"jsonrpc\":\"2.0\""u8.ToArray(),
    ];

    private static Arbitrary<byte[]> MutatedEnvelopes() =>
        (from seed in Gen.Elements(Seeds)
         from edits in Gen.ListOf(Gen.Choose(0, 1000).Zip(Gen.Elements(Fragments)).Zip(Gen.Choose(0, 2)))
         select Mutate(seed, edits)).ToArbitrary();

    private static byte[] Mutate(byte[] seed, IEnumerable<((int At, byte[] Fragment) Edit, int Op)> edits)
    {
        var bytes = new List<byte>(seed);
        foreach (var ((at, fragment), op) in edits)
        {
            var i = bytes.Count == 0 ? 0 : at % bytes.Count;
            switch (op)
            {
                case 0:
                    bytes.InsertRange(i, fragment);
                    break;
                case 1 when bytes.Count > 0:
                    bytes.RemoveAt(i);
                    break;
                default:
                    bytes.RemoveRange(i, bytes.Count - i); // truncated
                    break;
            }
        }

        return [.. bytes];
    }

    [Property(MaxTest = 2000)]
    public Property Arbitrary_bytes_get_an_envelope_or_a_json_rpc_error() =>
        Prop.ForAll(ArbMap.Default.ArbFor<byte[]>(), body => Answers(body));

    [Property(MaxTest = 5000)]
    public Property Mutated_envelopes_get_an_envelope_or_a_json_rpc_error() =>
        Prop.ForAll(MutatedEnvelopes(), body => Answers(body));

    [Property(MaxTest = 1000)]
    public Property Valid_envelopes_keep_their_method_and_id()
    {
        var ids = Gen.OneOf(
            ArbMap.Default.GeneratorFor<long>().Select(n => (object)n),
            ArbMap.Default.GeneratorFor<string>().Where(s => s is not null && IsText(s)).Select(s => (object)s!));
        var envelopes = from method in Gen.Elements(A2AMethods.All.Order(StringComparer.Ordinal).ToArray())
                        from id in ids
                        from text in ArbMap.Default.GeneratorFor<string>().Where(s => s is not null && IsText(s))
                        select (method, id, text);
        return Prop.ForAll(envelopes.ToArbitrary(), e =>
        {
            var body = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
            {
                ["jsonrpc"] = "2.0",
                ["id"] = e.id,
                ["method"] = e.method,
                ["params"] = new Dictionary<string, object> { ["message"] = new Dictionary<string, object> { ["messageId"] = e.text, ["parts"] = Array.Empty<object>() } },
            });

            var (envelope, code, error, idJson) = RpcEnvelope.Parse(body);

            Assert.True(envelope is not null, $"{Encoding.UTF8.GetString(body)}: {code} {error}");
            Assert.Equal(e.method, envelope!.Method);
            using var echoed = JsonDocument.Parse(idJson);
            if (e.id is long n)
            {
                Assert.Equal(n, echoed.RootElement.GetInt64());
            }
            else
            {
                Assert.Equal((string)e.id, echoed.RootElement.GetString());
            }
        });
    }

    [Theory]
    [InlineData(new byte[] { 0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d })]                       // {"\xff":1}
    [InlineData(new byte[] { 0x22, 0xed, 0xa0, 0x80, 0x22 })]                                   // "\xed\xa0\x80" (a UTF-8 surrogate)
    public void Invalid_utf8_is_a_parse_error(byte[] body)
    {
        Assert.Equal(RpcCodes.ParseError, RpcEnvelope.Parse(body).Code);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"SendMessage\ud800","params":{}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"\udc00"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"taskId":"\ud83d"}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"u\ud800rl":"x"}}""")]
    public void Unpaired_surrogate_escapes_are_a_parse_error_not_an_exception(string body)
    {
        var (envelope, code, _, _) = RpcEnvelope.Parse(Encoding.UTF8.GetBytes(body));

        Assert.Null(envelope);
        Assert.Equal(RpcCodes.ParseError, code);
    }

    private static bool Answers(byte[] body)
    {
        var (envelope, code, error, idJson) = RpcEnvelope.Parse(body);
        using var id = JsonDocument.Parse(idJson); // what the error answer echoes must itself be JSON
        return envelope is not null ? code == 0 : ErrorCodes.Contains(code) && !string.IsNullOrEmpty(error);
    }

    private static bool IsText(string s)
    {
        for (var i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(s[i]))
            {
                return false;
            }
        }

        return true;
    }
}
