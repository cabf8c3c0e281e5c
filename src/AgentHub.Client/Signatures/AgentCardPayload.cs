using System.Text.Json;
using System.Text.Json.Nodes;

namespace AgentHub.Client.Signatures;

/// <summary>
/// The bytes an Agent Card signature covers (A2A v1.0 §8.4.1), computed as the official SDKs compute them
/// (<c>@a2a-js/sdk</c> <c>canonicalizeAgentCard</c>, the Python SDK's <c>MessageToDict</c> + <c>clean_empty</c>):
/// <list type="number">
/// <item>the card is read as the v1.0 <c>AgentCard</c> protobuf message and written back as ProtoJSON: members outside
/// the schema are dropped (vendor extensions such as <c>x-…</c> are therefore not covered by a signature), snake_case
/// names are accepted and written camelCase, and proto3 defaults are omitted (<c>""</c>, <c>false</c> of a non-optional
/// bool, empty lists and maps) while <c>optional</c> bools keep an explicit <c>false</c>;</item>
/// <item><c>signatures</c> is removed;</item>
/// <item>every empty string, <c>null</c>, empty array and empty object is removed, recursively (after removal, a
/// container that became empty is removed too), also inside free-form <c>params</c>;</item>
/// <item>the result is canonicalized with RFC 8785 (<see cref="Jcs"/>).</item>
/// </list>
/// Unlike the JavaScript SDK, which coerces (<c>String(5)</c>, <c>Boolean("false")</c>) or silently drops members of
/// the wrong JSON type, a member of the schema with the wrong type makes the card malformed: it has no payload.
/// </summary>
public static class AgentCardPayload
{
    /// <summary>The canonical payload of <paramref name="card"/> (UTF-8); its <c>signatures</c> are ignored.</summary>
    /// <exception cref="JsonCanonicalizationException">A member of the A2A schema has the wrong JSON type, or a value has no RFC 8785 form.</exception>
    public static byte[] Canonicalize(JsonObject card)
    {
        ArgumentNullException.ThrowIfNull(card);
        var normalized = Message(card, Schemas.AgentCard, "card");
        return Jcs.Canonicalize(CleanEmpty(normalized, "card") ?? new JsonObject());
    }

    private static JsonObject Message(JsonNode? node, Schema schema, string path)
    {
        if (node is not JsonObject obj)
        {
            throw Malformed(path, "must be an object");
        }

        var result = new JsonObject();
        foreach (var field in schema.Fields)
        {
            // ts-proto's fromJSON: the camelCase name when it is set (not null), else the proto (snake_case) name.
            var name = field.Name;
            if (!obj.TryGetPropertyValue(name, out var value) || value is null)
            {
                name = field.ProtoName;
                if (!obj.TryGetPropertyValue(name, out value) || value is null)
                {
                    continue;
                }
            }

            var output = Convert(value, field, $"{path}.{name}");
            if (output is not null)
            {
                result[field.Name] = output;
            }

            if (schema.Oneof)
            {
                break; // the first member that is set wins; the others are dropped
            }
        }

        return result;
    }

    private static JsonNode? Convert(JsonNode value, Field field, string path)
    {
        switch (field.Kind)
        {
            case Kind.String:
                var text = String(value, path);
                return text.Length == 0 ? null : JsonValue.Create(text);
            case Kind.Bool:
                return Bool(value, path) ? JsonValue.Create(true) : null; // a proto3 bool: false is the default
            case Kind.OptionalBool:
                return JsonValue.Create(Bool(value, path)); // explicit presence: false is kept
            case Kind.Message:
                return Message(value, field.Type!, path);
            case Kind.Struct:
                return value is JsonObject ? value.DeepClone() : throw Malformed(path, "must be an object");
            case Kind.RepeatedString:
                var strings = new JsonArray();
                var i = 0;
                foreach (var item in Array(value, path))
                {
                    strings.Add(String(item, $"{path}[{i++}]"));
                }

                return strings;
            case Kind.RepeatedMessage:
                var messages = new JsonArray();
                var j = 0;
                foreach (var item in Array(value, path))
                {
                    messages.Add(Message(item, field.Type!, $"{path}[{j++}]"));
                }

                return messages;
            case Kind.MapMessage:
            case Kind.MapString:
                if (value is not JsonObject map)
                {
                    throw Malformed(path, "must be an object");
                }

                var entries = new JsonObject();
                foreach (var (key, entry) in map)
                {
                    var entryPath = $"{path}.{key}";
                    entries[key] = field.Kind == Kind.MapString ? JsonValue.Create(String(entry, entryPath)) : Message(entry, field.Type!, entryPath);
                }

                return entries;
            default:
                throw new InvalidOperationException($"Unknown field kind {field.Kind}.");
        }
    }

    private static string String(JsonNode? node, string path)
    {
        if (node is JsonValue value && value.GetValueKind() == JsonValueKind.String)
        {
            try
            {
                return value.GetValue<string>();
            }
            catch (InvalidOperationException)
            {
                throw Malformed(path, "is not valid UTF-16 (an unpaired surrogate?)");
            }
        }

        throw Malformed(path, "must be a string");
    }

    private static bool Bool(JsonNode node, string path) => node.GetValueKind() switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw Malformed(path, "must be true or false"),
    };

    private static JsonArray Array(JsonNode node, string path) => node as JsonArray ?? throw Malformed(path, "must be an array");

    /// <summary>The SDKs' <c>clean_empty</c>: drops <c>""</c>, <c>null</c>, <c>[]</c> and <c>{}</c>, depth first.</summary>
    private static JsonNode? CleanEmpty(JsonNode? node, string path)
    {
        switch (node)
        {
            case null:
                return null;
            case JsonArray array:
                var list = new JsonArray();
                var i = 0;
                foreach (var item in array)
                {
                    if (CleanEmpty(item, $"{path}[{i++}]") is { } kept)
                    {
                        list.Add(kept);
                    }
                }

                return list.Count > 0 ? list : null;
            case JsonObject obj:
                var result = new JsonObject();
                foreach (var (key, value) in obj)
                {
                    if (key == "__proto__")
                    {
                        // JavaScript assigns this name to the prototype, so the SDK would drop or misplace it.
                        throw Malformed($"{path}.{key}", "is a member name JavaScript verifiers cannot represent");
                    }

                    if (CleanEmpty(value, $"{path}.{key}") is { } kept)
                    {
                        result[key] = kept;
                    }
                }

                return result.Count > 0 ? result : null;
            default:
                return node.GetValueKind() switch
                {
                    JsonValueKind.Null => null,
                    JsonValueKind.String => String(node, path).Length == 0 ? null : node.DeepClone(),
                    _ => node.DeepClone(),
                };
        }
    }

    private static JsonCanonicalizationException Malformed(string path, string problem) => new($"{path} {problem}.");

    private enum Kind
    {
        String,
        Bool,
        OptionalBool,
        Message,
        Struct,
        RepeatedString,
        RepeatedMessage,
        MapMessage,
        MapString,
    }

    private sealed record Field(string Name, Kind Kind, Schema? Type = null)
    {
        /// <summary>The proto field name, which ProtoJSON parsers accept too: <c>protocolBinding</c> → <c>protocol_binding</c>.</summary>
        public string ProtoName { get; } = string.Concat(Name.Select(c => char.IsAsciiLetterUpper(c) ? "_" + char.ToLowerInvariant(c) : c.ToString()));
    }

    private sealed record Schema(Field[] Fields, bool Oneof = false);

    /// <summary>The A2A v1.0 <c>AgentCard</c> message and what it contains (<c>specification/a2a.proto</c>), without <c>signatures</c>.</summary>
    private static class Schemas
    {
        private static readonly Field[] Scopes = [new("scopes", Kind.MapString)];

        private static readonly Schema OAuthFlows = new(
        [
            new("authorizationCode", Kind.Message, new([new("authorizationUrl", Kind.String), new("tokenUrl", Kind.String), new("refreshUrl", Kind.String), .. Scopes, new("pkceRequired", Kind.Bool)])),
            new("clientCredentials", Kind.Message, new([new("tokenUrl", Kind.String), new("refreshUrl", Kind.String), .. Scopes])),
            new("implicit", Kind.Message, new([new("authorizationUrl", Kind.String), new("refreshUrl", Kind.String), .. Scopes])),
            new("password", Kind.Message, new([new("tokenUrl", Kind.String), new("refreshUrl", Kind.String), .. Scopes])),
            new("deviceCode", Kind.Message, new([new("deviceAuthorizationUrl", Kind.String), new("tokenUrl", Kind.String), new("refreshUrl", Kind.String), .. Scopes])),
        ], Oneof: true);

        private static readonly Schema SecurityScheme = new(
        [
            new("apiKeySecurityScheme", Kind.Message, new([new("description", Kind.String), new("location", Kind.String), new("name", Kind.String)])),
            new("httpAuthSecurityScheme", Kind.Message, new([new("description", Kind.String), new("scheme", Kind.String), new("bearerFormat", Kind.String)])),
            new("oauth2SecurityScheme", Kind.Message, new([new("description", Kind.String), new("flows", Kind.Message, OAuthFlows), new("oauth2MetadataUrl", Kind.String)])),
            new("openIdConnectSecurityScheme", Kind.Message, new([new("description", Kind.String), new("openIdConnectUrl", Kind.String)])),
            new("mtlsSecurityScheme", Kind.Message, new([new("description", Kind.String)])),
        ], Oneof: true);

        private static readonly Schema SecurityRequirement = new([new("schemes", Kind.MapMessage, new([new("list", Kind.RepeatedString)]))]);

        public static readonly Schema AgentCard = new(
        [
            new("name", Kind.String),
            new("description", Kind.String),
            new("supportedInterfaces", Kind.RepeatedMessage, new(
            [
                new("url", Kind.String), new("protocolBinding", Kind.String), new("tenant", Kind.String), new("protocolVersion", Kind.String),
            ])),
            new("provider", Kind.Message, new([new("url", Kind.String), new("organization", Kind.String)])),
            new("version", Kind.String),
            new("documentationUrl", Kind.String),
            new("capabilities", Kind.Message, new(
            [
                new("streaming", Kind.OptionalBool),
                new("pushNotifications", Kind.OptionalBool),
                new("extensions", Kind.RepeatedMessage, new(
                [
                    new("uri", Kind.String), new("description", Kind.String), new("required", Kind.Bool), new("params", Kind.Struct),
                ])),
                new("extendedAgentCard", Kind.OptionalBool),
            ])),
            new("securitySchemes", Kind.MapMessage, SecurityScheme),
            new("securityRequirements", Kind.RepeatedMessage, SecurityRequirement),
            new("defaultInputModes", Kind.RepeatedString),
            new("defaultOutputModes", Kind.RepeatedString),
            new("skills", Kind.RepeatedMessage, new(
            [
                new("id", Kind.String), new("name", Kind.String), new("description", Kind.String),
                new("tags", Kind.RepeatedString), new("examples", Kind.RepeatedString),
                new("inputModes", Kind.RepeatedString), new("outputModes", Kind.RepeatedString),
                new("securityRequirements", Kind.RepeatedMessage, SecurityRequirement),
            ])),
            new("iconUrl", Kind.String),
        ]);
    }
}
