using System.Security.Claims;
using System.Text.Json;
using System.Text.RegularExpressions;
using AgentHub.Identity;
using AgentHub.Signatures;
using AgentHub.Storage;
using AgentHub.Vault;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace AgentHub.Agents;

/// <summary>
/// /api/v1/agents: operators and admins register and delete; every authenticated caller discovers.
/// /a2a/{id}/.well-known/agent-card.json: the card A2A clients use, pointing at the hub.
/// </summary>
internal static partial class AgentsApi
{
    public static RouteGroupBuilder MapAgents(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/v1/agents").WithTags("Agents").RequireAuthorization(Policies.Authenticated);
        group.MapPost("/", Register).RequireAuthorization(Policies.Operator);
        group.MapGet("/", List);
        group.MapGet("/{id}", Get);
        group.MapGet("/{id}/versions", Versions);
        group.MapGet("/{id}/card", OriginalCard).RequireAuthorization(p => p.RequireRole(Roles.Admin, Roles.Operator, Roles.Auditor));
        group.MapDelete("/{id}", Delete).RequireAuthorization(Policies.Operator);

        routes.MapGet("/a2a/{id}/.well-known/agent-card.json", ServedCard).WithTags("Agents").RequireAuthorization(Policies.Authenticated);
        return group;
    }

    internal static async Task<Results<Created<RegisteredAgentResponse>, Ok<RegisteredAgentResponse>, ValidationProblem, ProblemHttpResult>> Register(
        RegisterAgentRequest request, IAgentStore store, UrlGuard guard, CardFetcher fetcher, SecretBox box, TimeProvider time,
        IOptionsMonitor<AgentsOptions> options, HttpContext http, ClaimsPrincipal user, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (request.Id is null || !Slug().IsMatch(request.Id))
        {
            errors["id"] = ["id must be 1-63 characters of a-z, 0-9 and '-', starting with a letter or digit."];
        }

        var hasCard = request.Card is { ValueKind: not JsonValueKind.Null };
        Uri? cardUrl = null;
        if (hasCard == (request.CardUrl is not null))
        {
            errors["card"] = ["Give exactly one of card (the Agent Card) or cardUrl (where the hub fetches it)."];
        }
        else if (request.CardUrl is not null && UrlGuard.CheckSyntax(request.CardUrl, "cardUrl", out cardUrl) is { } cardUrlError)
        {
            errors["cardUrl"] = [cardUrlError];
        }

        Uri? upstreamOverride = null;
        if (request.UpstreamUrl is not null && UrlGuard.CheckSyntax(request.UpstreamUrl, "upstreamUrl", out upstreamOverride) is { } upstreamError)
        {
            errors["upstreamUrl"] = [upstreamError];
        }

        var keyChange = request.Keys is null && request.HmacSecret is null && request.RequireSignature is null
            ? null
            : AgentKeysApi.Validate(request.Keys, request.HmacSecret, request.RequireSignature, "", errors);

        // --- card signatures: cardKeys is checked with the request ---
        var cardKeys = CardSignatureCheck.ParseKeys(request.CardKeys, errors);

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        byte[] cardBytes;
        JsonElement card;
        if (cardUrl is not null)
        {
            var (fetched, fetchError) = await fetcher.FetchAsync(cardUrl, ct);
            if (fetched is null)
            {
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["cardUrl"] = [fetchError!] });
            }

            try
            {
                using var document = JsonDocument.Parse(fetched, new JsonDocumentOptions { MaxDepth = 64 });
                card = document.RootElement.Clone();
            }
            catch (JsonException)
            {
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["card"] = ["The card URL did not return valid JSON."] });
            }

            cardBytes = fetched;
        }
        else
        {
            card = request.Card!.Value;
            cardBytes = System.Text.Encoding.UTF8.GetBytes(card.GetRawText()); // as received: the raw text of the member
        }

        var (info, cardErrors) = CardValidator.Validate(card, upstreamOverride is not null);
        if (info is null)
        {
            return TypedResults.ValidationProblem(cardErrors);
        }

        // --- card signatures: verified against cardKeys; invalid is refused unless allowInvalidSignature ---
        var signature = CardSignatureCheck.Verify(card, cardKeys);
        if (signature.IsInvalid && request.AllowInvalidSignature != true)
        {
            return CardSignatureCheck.Refusal(signature);
        }

        var upstream = upstreamOverride is not null ? request.UpstreamUrl! : info.JsonRpcUrl!;
        if (await guard.CheckAsync(upstreamOverride ?? new Uri(upstream), ct) is { } refused)
        {
            var field = upstreamOverride is not null ? "upstreamUrl" : JsonRpcPath(card);
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [refused] });
        }

        var now = time.GetUtcNow();
        var id = request.Id!;
        var (keyId, key, hash) = ApiKeyFormat.Generate();
        var candidate = new NewApiKey(keyId, AgentStore.PrincipalOf(id), Roles.Agent, "agent registration", hash, now, user.PrincipalId(), null);
        AgentKeysResult? keys = null;
        RegisterResult result;
        try
        {
            result = await store.RegisterAsync(new NewAgent(id, cardBytes, info, cardUrl is null ? null : request.CardUrl, upstream, now, user.PrincipalId(), signature), candidate, ct,
                keyChange is null ? null : async (connection, transaction) =>
                    keys = await AgentKeyStore.ApplyAsync(connection, transaction, store.Provider, box, id, keyChange, user.PrincipalId(), now, ct));
        }
        catch (AgentKeyException e)
        {
            return AgentKeysApi.Refused(e);
        }

        var response = new RegisteredAgentResponse(
            ToResponse(result.Agent, BaseUrl(http, options.CurrentValue), showInternal: true),
            result.Created,
            result.VersionCreated,
            result.KeyIssued,
            result.KeyIssued ? new CreatedKeyResponse(keyId, key, candidate.PrincipalId, Roles.Agent, candidate.Name, now, null) : null,
            (result.Created ? $"Registered agent {id}." : result.VersionCreated ? $"Agent {id}: card version {result.Agent.Version}." : $"Agent {id}: card unchanged.") +
            (result.KeyIssued ? $" New API key for {candidate.PrincipalId}, shown only now." : $" No new key: {candidate.PrincipalId} already has an active key.") +
            (keys is null ? "" : " Signature keys: " + AgentKeysApi.Describe(keys)),
            keys is null ? null : AgentKeysApi.ToResponse(id, keys, null));
        return result.Created
            ? TypedResults.Created($"/api/v1/agents/{id}", response)
            : TypedResults.Ok(response);
    }

    internal static async Task<Results<Ok<PageResponse<AgentResponse>>, ValidationProblem>> List(
        IAgentStore store, IOptionsMonitor<AgentsOptions> options, HttpContext http, ClaimsPrincipal user, CancellationToken ct,
        string? skill = null, string? tag = null, string? q = null, string? after = null, int limit = Page<AgentResponse>.DefaultLimit)
    {
        if (Paging.Invalid(limit) is { } problem)
        {
            return problem;
        }

        var page = await store.ListAsync(new AgentFilter(skill, tag, q), after, limit, ct);
        var baseUrl = BaseUrl(http, options.CurrentValue);
        var showInternal = !user.IsInRole(Roles.Agent);
        return TypedResults.Ok(new PageResponse<AgentResponse>(page.Items.Select(a => ToResponse(a, baseUrl, showInternal)).ToList(), page.Next));
    }

    internal static async Task<Results<Ok<AgentResponse>, ProblemHttpResult>> Get(
        string id, IAgentStore store, IOptionsMonitor<AgentsOptions> options, HttpContext http, ClaimsPrincipal user, CancellationToken ct)
    {
        var agent = await store.GetAsync(id, ct);
        return agent is null ? NotFound(id) : TypedResults.Ok(ToResponse(agent, BaseUrl(http, options.CurrentValue), !user.IsInRole(Roles.Agent)));
    }

    internal static async Task<Results<Ok<IReadOnlyList<AgentVersionResponse>>, ProblemHttpResult>> Versions(
        string id, IAgentStore store, CancellationToken ct)
    {
        var versions = await store.ListVersionsAsync(id, ct);
        return versions is null
            ? NotFound(id)
            : TypedResults.Ok<IReadOnlyList<AgentVersionResponse>>(versions
                .Select(v => new AgentVersionResponse(v.Version, v.CreatedAt, v.CreatedBy, Convert.ToHexStringLower(v.CardSha256), v.CardVersion,
                    v.CardSignature, v.CardSignatureDetail)).ToList());
    }

    internal static async Task<Results<FileContentHttpResult, ProblemHttpResult>> OriginalCard(string id, IAgentStore store, CancellationToken ct)
    {
        var card = await store.GetCardAsync(id, ct);
        return card is null ? NotFound(id) : TypedResults.Bytes(card, "application/json");
    }

    internal static async Task<IResult> ServedCard(
        string id, ServedCards cards, IOptionsMonitor<AgentsOptions> options, HttpContext http, CancellationToken ct)
    {
        var served = await cards.GetAsync(id, BaseUrl(http, options.CurrentValue), ct);
        if (served is null)
        {
            return NotFound(id);
        }

        http.Response.Headers.ETag = served.ETag;
        http.Response.Headers.CacheControl = "private, max-age=60";
        return HubCard.Matches(http.Request.Headers.IfNoneMatch, served.ETag)
            ? TypedResults.StatusCode(StatusCodes.Status304NotModified)
            : TypedResults.Bytes(served.Bytes, "application/json");
    }

    internal static async Task<Results<NoContent, ProblemHttpResult>> Delete(
        string id, IAgentStore store, TimeProvider time, ClaimsPrincipal user, CancellationToken ct) =>
        await store.DeleteAsync(id, user.PrincipalId(), time.GetUtcNow(), ct) ? TypedResults.NoContent() : NotFound(id);

    private static AgentResponse ToResponse(AgentRecord a, string baseUrl, bool showInternal) => new(
        a.Id, a.Name, a.Description, a.CardVersion, a.Version, a.Skills, $"{baseUrl}/a2a/{a.Id}/.well-known/agent-card.json",
        a.Health, a.LastCheckedAt, a.CreatedAt, a.CreatedBy, a.UpdatedAt, a.UpdatedBy,
        showInternal ? a.UpstreamUrl : null, showInternal ? a.CardUrl : null, a.CardSignature, a.CardSignatureDetail);

    /// <summary>The hub's external base URL: <c>Agents:PublicUrl</c>, else the request's scheme, host and path base.</summary>
    private static string BaseUrl(HttpContext http, AgentsOptions options) =>
        !string.IsNullOrEmpty(options.PublicUrl)
            ? options.PublicUrl.TrimEnd('/')
            : $"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}".TrimEnd('/');

    private static string JsonRpcPath(JsonElement card)
    {
        var i = 0;
        foreach (var entry in card.GetProperty("supportedInterfaces").EnumerateArray())
        {
            if (entry.TryGetProperty("protocolBinding", out var b) && b.ValueKind == JsonValueKind.String && b.GetString() == "JSONRPC")
            {
                return $"card.supportedInterfaces[{i}].url";
            }

            i++;
        }

        return "card.supportedInterfaces";
    }

    private static ProblemHttpResult NotFound(string id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"No agent '{id}'.");

    [GeneratedRegex(@"^[a-z0-9][a-z0-9-]{0,62}\z", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 100)]
    private static partial Regex Slug();
}
