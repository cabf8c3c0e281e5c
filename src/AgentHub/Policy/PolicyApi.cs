using System.Security.Claims;
using System.Text.Json.Serialization;
using AgentHub.Identity;
using AgentHub.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentHub.Policy;

/// <summary>POST /api/v1/policies. Validated by <see cref="PolicyValidation"/>, which names every bad field at once.</summary>
internal sealed record CreatePolicyRequest(string? Caller, string? Agent, IReadOnlyList<string?>? Methods, string? Effect, string? Description);

/// <summary>POST /api/v1/policies/explain: would <c>caller</c> (holding <c>role</c>, if given) be allowed to call <c>agent</c>'s <c>method</c>?</summary>
internal sealed record ExplainPolicyRequest(string? Caller, string? Agent, string? Method, string? Role);

internal sealed record PolicyResponse(string Id, string Caller, string Agent, IReadOnlyList<string> Methods, string Effect,
    string? Description, DateTimeOffset CreatedAt, string CreatedBy)
{
    public static PolicyResponse From(PolicyRule r) => new(r.Id, r.Caller, r.Agent, r.Methods, r.Effect, r.Description, r.CreatedAt, r.CreatedBy);
}

internal sealed record ExplainPolicyResponse(
    string Decision,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] PolicyResponse? Rule,
    string Reason,
    long PolicyVersion);

/// <summary>
/// /api/v1/policies: operators and admins change the rules; auditors read them and ask <c>explain</c>. A change is
/// in force on this instance when the answer arrives, and on every other instance within Policy:RefreshInterval.
/// </summary>
internal static class PolicyApi
{
    public static RouteGroupBuilder MapPolicies(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/v1/policies").WithTags("Policies")
            .RequireAuthorization(p => p.RequireRole(Roles.Admin, Roles.Operator, Roles.Auditor));
        group.MapPost("/", CreatePolicy).RequireAuthorization(Policies.Operator);
        group.MapGet("/", ListPolicies);
        group.MapGet("/{id}", GetPolicy);
        group.MapDelete("/{id}", DeletePolicy).RequireAuthorization(Policies.Operator);
        group.MapPost("/explain", Explain);
        return group;
    }

    internal static async Task<Results<Created<PolicyResponse>, ValidationProblem>> CreatePolicy(
        CreatePolicyRequest request, PolicyStore store, PolicyEngine engine, TimeProvider time, ClaimsPrincipal user, CancellationToken ct)
    {
        var errors = PolicyValidation.Validate(request.Caller, request.Agent, request.Methods, request.Effect, request.Description);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var rule = await store.CreateAsync(new NewPolicyRule(request.Caller!, request.Agent!, PolicyValidation.Normalize(request.Methods!),
            request.Effect!, request.Description, time.GetUtcNow(), user.PrincipalId()), ct);
        await engine.ReloadAfterChangeAsync(ct);
        return TypedResults.Created($"/api/v1/policies/{rule.Id}", PolicyResponse.From(rule));
    }

    internal static async Task<Results<Ok<PageResponse<PolicyResponse>>, ValidationProblem>> ListPolicies(
        PolicyStore store, CancellationToken ct, string? caller = null, string? agent = null, string? after = null,
        int limit = Page<PolicyResponse>.DefaultLimit)
    {
        if (Paging.Invalid(limit) is { } problem)
        {
            return problem;
        }

        var page = await store.ListAsync(caller, agent, after, limit, ct);
        return TypedResults.Ok(new PageResponse<PolicyResponse>(page.Items.Select(PolicyResponse.From).ToList(), page.Next));
    }

    internal static async Task<Results<Ok<PolicyResponse>, ProblemHttpResult>> GetPolicy(string id, PolicyStore store, CancellationToken ct)
    {
        var rule = await store.GetAsync(id, ct);
        return rule is null ? RuleNotFound(id) : TypedResults.Ok(PolicyResponse.From(rule));
    }

    internal static async Task<Results<NoContent, ProblemHttpResult>> DeletePolicy(
        string id, PolicyStore store, PolicyEngine engine, TimeProvider time, ClaimsPrincipal user, CancellationToken ct)
    {
        if (!await store.DeleteAsync(id, user.PrincipalId(), time.GetUtcNow(), ct))
        {
            return RuleNotFound(id);
        }

        await engine.ReloadAfterChangeAsync(ct);
        return TypedResults.NoContent();
    }

    internal static Results<Ok<ExplainPolicyResponse>, ValidationProblem> Explain(ExplainPolicyRequest request, PolicyEngine engine)
    {
        var errors = new Dictionary<string, string[]>();
        if (!PrincipalId.TryParse(request.Caller, out _))
        {
            errors["caller"] = [$"caller must be the calling principal, agent:<id> or user:<name>; {PrincipalId.Rule}."];
        }

        if (request.Agent == "*" || PolicyValidation.AgentError(request.Agent) is not null)
        {
            errors["agent"] = ["agent must be an agent id: 1-63 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit."];
        }

        if (PolicyMethods.Bit(request.Method) < 0)
        {
            errors["method"] = [$"method {(request.Method is null ? "is required" : $"'{request.Method}' is not an A2A v1.0 method")}; methods are {string.Join(", ", PolicyMethods.All)}."];
        }

        if (request.Role is not null && !Roles.IsKnown(request.Role))
        {
            errors["role"] = [$"role '{request.Role}' is not one of {string.Join(", ", Roles.All)}."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var policy = engine.Current;
        var decision = policy.Decide(request.Caller!, request.Role, request.Agent!, request.Method!);
        return TypedResults.Ok(new ExplainPolicyResponse(decision.Effect, decision.Rule is { } r ? PolicyResponse.From(r) : null,
            decision.Reason, policy.Version));
    }

    // TypedResults.Problem, not NotFound(ProblemDetails): only the former is sent as application/problem+json.
    private static ProblemHttpResult RuleNotFound(string id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"No policy rule '{id}'.");
}
