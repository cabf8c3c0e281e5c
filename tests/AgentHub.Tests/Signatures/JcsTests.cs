using System.Text;
using System.Text.Json.Nodes;
using AgentHub.Client.Signatures;

namespace AgentHub.Tests.Signatures;

/// <summary>RFC 8785 against the RFC's own examples: the §3.2.4 sample, the §3.2.3 sort order and the Appendix B number table.</summary>
public sealed class JcsTests
{
    private static string Canonical(string json) => Encoding.UTF8.GetString(Jcs.Canonicalize(JsonNode.Parse(json)));

    [Theory] // RFC 8785 Appendix B: IEEE 754 bit pattern → ECMAScript form
    [InlineData("0000000000000000", "0")]
    [InlineData("8000000000000000", "0")] // minus zero
    [InlineData("0000000000000001", "5e-324")]
    [InlineData("8000000000000001", "-5e-324")]
    [InlineData("7fefffffffffffff", "1.7976931348623157e+308")]
    [InlineData("ffefffffffffffff", "-1.7976931348623157e+308")]
    [InlineData("4340000000000000", "9007199254740992")]
    [InlineData("c340000000000000", "-9007199254740992")]
    [InlineData("4430000000000000", "295147905179352830000")]
    [InlineData("44b52d02c7e14af5", "9.999999999999997e+22")]
    [InlineData("44b52d02c7e14af6", "1e+23")]
    [InlineData("44b52d02c7e14af7", "1.0000000000000001e+23")]
    [InlineData("444b1ae4d6e2ef4e", "999999999999999700000")]
    [InlineData("444b1ae4d6e2ef4f", "999999999999999900000")]
    [InlineData("444b1ae4d6e2ef50", "1e+21")]
    [InlineData("3eb0c6f7a0b5ed8c", "9.999999999999997e-7")]
    [InlineData("3eb0c6f7a0b5ed8d", "0.000001")]
    [InlineData("41b3de4355555553", "333333333.3333332")]
    [InlineData("41b3de4355555554", "333333333.33333325")]
    [InlineData("41b3de4355555555", "333333333.3333333")]
    [InlineData("41b3de4355555556", "333333333.3333334")]
    [InlineData("41b3de4355555557", "333333333.33333343")]
    [InlineData("becbf647612f3696", "-0.0000033333333333333333")]
    [InlineData("43143ff3c1cb0959", "1424953923781206.2")] // round to even
    public void FormatNumber_writes_rfc8785_appendix_b_values(string ieee754, string expected)
    {
        var value = BitConverter.Int64BitsToDouble(Convert.ToInt64(ieee754, 16));

        Assert.Equal(expected, Jcs.FormatNumber(value));
    }

    [Theory]
    [InlineData("7fffffffffffffff")] // NaN
    [InlineData("7ff0000000000000")] // Infinity
    [InlineData("fff0000000000000")] // -Infinity
    public void FormatNumber_refuses_nan_and_infinity(string ieee754) =>
        Assert.Throws<JsonCanonicalizationException>(() => Jcs.FormatNumber(BitConverter.Int64BitsToDouble(Convert.ToInt64(ieee754, 16))));

    [Theory] // integers are exact up to 2^53; from 1e21 on ECMAScript switches to exponent notation; 1e-7 and below too
    [InlineData(1.0, "1")]
    [InlineData(-42.0, "-42")]
    [InlineData(9007199254740991.0, "9007199254740991")]
    [InlineData(1e20, "100000000000000000000")]
    [InlineData(1e21, "1e+21")]
    [InlineData(1.5e300, "1.5e+300")]
    [InlineData(0.5, "0.5")]
    [InlineData(1e-6, "0.000001")]
    [InlineData(1.5e-7, "1.5e-7")]
    [InlineData(123.456, "123.456")]
    [InlineData(0.1 + 0.2, "0.30000000000000004")]
    public void FormatNumber_lays_out_digits_as_ecmascript(double value, string expected) => Assert.Equal(expected, Jcs.FormatNumber(value));

    [Fact]
    public void Canonicalize_rfc8785_sample_gives_the_rfc_output_in_utf8()
    {
        const string input = """
            {
              "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
              "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
              "literals": [null, true, false]
            }
            """;

        var bytes = Jcs.Canonicalize(JsonNode.Parse(input));

        Assert.Equal("""{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}""",
            Encoding.UTF8.GetString(bytes));
        // RFC 8785 §3.2.4, the same output as UTF-8 in hexadecimal.
        const string rfcHex = """
            7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72
            75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a
            5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31
            65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37
            5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30
            30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d
            """;
        Assert.Equal(string.Concat(rfcHex.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries)), Convert.ToHexStringLower(bytes));
    }

    [Fact]
    public void Canonicalize_sorts_members_by_utf16_code_units_as_rfc8785_3_2_3()
    {
        const string input = """
            {
              "\u20ac": "Euro Sign",
              "\r": "Carriage Return",
              "\ufb33": "Hebrew Letter Dalet With Dagesh",
              "1": "One",
              "\ud83d\ude00": "Emoji: Grinning Face",
              "\u0080": "Control",
              "\u00f6": "Latin Small Letter O With Diaeresis"
            }
            """;

        var values = JsonNode.Parse(Canonical(input))!.AsObject().Select(p => p.Value!.GetValue<string>());

        // The emoji's surrogates (U+D83D…) sort before U+FB33 although its code point is higher.
        Assert.Equal(["Carriage Return", "One", "Control", "Latin Small Letter O With Diaeresis", "Euro Sign", "Emoji: Grinning Face",
            "Hebrew Letter Dalet With Dagesh"], values);
    }

    [Fact]
    public void Canonicalize_escapes_only_what_json_stringify_escapes()
    {
        var node = new JsonObject { ["s"] = "\b\f\n\r\t\u0001\u001f\"\\/\u007f\u2028\u00e9😀<>&'" };

        Assert.Equal("{\"s\":\"\\b\\f\\n\\r\\t\\u0001\\u001f\\\"\\\\/\u007f\u2028é😀<>&'\"}", Encoding.UTF8.GetString(Jcs.Canonicalize(node)));
    }

    [Theory]
    [InlineData("[-0]", "[0]")]
    [InlineData("[4.50,1E3,1e-3]", "[4.5,1000,0.001]")]
    [InlineData("[9007199254740993]", "[9007199254740992]")] // read as a double, as JSON.parse reads it
    [InlineData("[12345678901234567890]", "[12345678901234567000]")]
    [InlineData("{\"b\":[],\"a\":{},\"c\":\"\"}", "{\"a\":{},\"b\":[],\"c\":\"\"}")]
    [InlineData(" { \"a\" : [ 1 , true ] } ", "{\"a\":[1,true]}")]
    public void Canonicalize_normalizes_json_text(string input, string expected) => Assert.Equal(expected, Canonical(input));

    [Theory]
    [InlineData("[1e400]")]
    [InlineData("[-1e400]")]
    [InlineData("[\"\\ud800\"]")]
    [InlineData("[\"\\udc00x\"]")]
    public void Canonicalize_refuses_values_without_a_canonical_form(string input) =>
        Assert.Throws<JsonCanonicalizationException>(() => Jcs.Canonicalize(JsonNode.Parse(input)));

    [Fact]
    public void Canonicalize_refuses_an_unpaired_surrogate_in_a_dotnet_string() =>
        Assert.Throws<JsonCanonicalizationException>(() => Jcs.Canonicalize(new JsonObject { ["s"] = "a\ud800" }));
}
