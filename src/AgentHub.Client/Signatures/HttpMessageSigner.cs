using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace AgentHub.Client.Signatures;

/// <summary>Signs HTTP messages per RFC 9421.</summary>
public static class HttpMessageSigner
{
    /// <summary>The <c>Signature-Input</c> field name.</summary>
    public const string SignatureInputField = "Signature-Input";

    /// <summary>The <c>Signature</c> field name.</summary>
    public const string SignatureField = "Signature";

    /// <summary>Signs <paramref name="message"/> with <paramref name="key"/>.</summary>
    /// <returns>The <c>Signature-Input</c> and <c>Signature</c> header values (one member each, labelled <see cref="SignatureOptions.Label"/>).</returns>
    /// <exception cref="InvalidOperationException">A covered component is missing from the message, or the key cannot sign.</exception>
    /// <exception cref="ArgumentException">The options name an invalid label, component or parameter value.</exception>
    public static SignatureHeaders Sign(SignatureMessage message, SignatureKey key, SignatureOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(key);
        options ??= SignatureOptions.Default;
        if (!SfSyntax.IsKey(options.Label))
        {
            throw new ArgumentException($"The label '{options.Label}' is not a Structured Field key (lowercase letters, digits, '_', '-', '.', '*').", nameof(options));
        }

        var signatureParams = new SfInnerList(Components(message, options), Parameters(key, options));
        var signatureBase = SignatureBase.Create(message, signatureParams);
        var signature = key.Sign(Encoding.ASCII.GetBytes(signatureBase));

        var input = new StringBuilder(options.Label).Append('=');
        SfWriter.AppendInnerList(input, signatureParams);
        return new SignatureHeaders(input.ToString(), options.Label + "=:" + Convert.ToBase64String(signature) + ":")
        {
            Label = options.Label,
            SignatureBase = signatureBase,
        };
    }

    internal static List<SfItem> Components(SignatureMessage message, SignatureOptions options)
    {
        var items = new List<SfItem>(options.Components.Count + options.ExtraComponents.Count);
        var seen = new List<string>(items.Capacity);
        foreach (var component in options.Components.Concat(options.ExtraComponents))
        {
            var item = Identifier(component);
            if (message is SignatureRequest { Query: null } && item.Parameters.Count == 0 && item.Value.AsString() == "@query")
            {
                continue;
            }

            var serialized = item.ToString();
            if (!seen.Contains(serialized, StringComparer.Ordinal))
            {
                seen.Add(serialized);
                items.Add(item);
            }
        }

        return items;
    }

    private static SfItem Identifier(string component)
    {
        ArgumentException.ThrowIfNullOrEmpty(component);
        if (component[0] != '"')
        {
            return new SfItem(SfBareItem.String(SignatureBase.Lower(component)));
        }

        try
        {
            var item = StructuredFields.ParseItem(component, "component");
            return item.Value.Kind == SfBareItemKind.String
                ? item
                : throw new ArgumentException($"The component {component} is not a Structured Field String.", nameof(component));
        }
        catch (StructuredFieldException e)
        {
            throw new ArgumentException($"The component {component} is not a valid identifier: {e.Message}", nameof(component), e);
        }
    }

    private static SfParameters Parameters(SignatureKey key, SignatureOptions options)
    {
        var parameters = new List<KeyValuePair<string, SfBareItem>>(6);
        if (options.IncludeCreated)
        {
            var created = options.TimeProvider.GetUtcNow().ToUnixTimeSeconds();
            parameters.Add(new("created", SfBareItem.Integer(created)));
            if (options.Lifetime is { } lifetime)
            {
                parameters.Add(new("expires", SfBareItem.Integer(created + (long)Math.Ceiling(lifetime.TotalSeconds))));
            }
        }
        else if (options.Lifetime is { } lifetime)
        {
            var expires = options.TimeProvider.GetUtcNow().ToUnixTimeSeconds() + (long)Math.Ceiling(lifetime.TotalSeconds);
            parameters.Add(new("expires", SfBareItem.Integer(expires)));
        }

        parameters.Add(new("keyid", SfBareItem.String(options.KeyId ?? key.KeyId)));
        if (options.IncludeNonce)
        {
            parameters.Add(new("nonce", SfBareItem.String(options.Nonce ?? Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16)))));
        }

        if (options.IncludeAlgorithm)
        {
            parameters.Add(new("alg", SfBareItem.String(key.AlgorithmName)));
        }

        if (options.Tag is not null)
        {
            parameters.Add(new("tag", SfBareItem.String(options.Tag)));
        }

        return new SfParameters(parameters);
    }
}
