using System.Text.Json;
using System.Text.Json.Serialization;
using AgentHub.Identity;
using Microsoft.AspNetCore.Mvc;

namespace AgentHub;

/// <summary>
/// Source-generated JSON for every type the hub reads or writes. Unknown properties in a request are an error
/// (no mass assignment); nulls are omitted from responses.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(AgentHub.Web.UtcTimeConverter)])]
[JsonSerializable(typeof(CreateKeyRequest))]
[JsonSerializable(typeof(CreatedKeyResponse))]
[JsonSerializable(typeof(KeyResponse))]
[JsonSerializable(typeof(PageResponse<KeyResponse>))]
[JsonSerializable(typeof(PageResponse<PrincipalResponse>))]
[JsonSerializable(typeof(PrincipalResponse))]
[JsonSerializable(typeof(WhoAmIResponse))]
[JsonSerializable(typeof(SigningKeyResponse))]
[JsonSerializable(typeof(IReadOnlyList<SigningKeyResponse>))]
[JsonSerializable(typeof(Jwk))]
[JsonSerializable(typeof(JwkSet))]
[JsonSerializable(typeof(AgentHub.Audit.AuditPage))]
[JsonSerializable(typeof(AgentHub.Audit.CheckpointResponse))]
[JsonSerializable(typeof(AgentHub.Audit.InclusionProofResponse))]
[JsonSerializable(typeof(AgentHub.Audit.ConsistencyProofResponse))]
[JsonSerializable(typeof(AgentHub.Audit.ExportLineDto))]
[JsonSerializable(typeof(AgentHub.Agents.RegisterAgentRequest))]
[JsonSerializable(typeof(AgentHub.Agents.RegisteredAgentResponse))]
[JsonSerializable(typeof(AgentHub.Agents.AgentResponse))]
[JsonSerializable(typeof(PageResponse<AgentHub.Agents.AgentResponse>))]
[JsonSerializable(typeof(IReadOnlyList<AgentHub.Agents.AgentVersionResponse>))]
[JsonSerializable(typeof(AgentHub.Signatures.SetAgentKeysRequest))]
[JsonSerializable(typeof(AgentHub.Signatures.AgentKeysResponse))]
[JsonSerializable(typeof(List<AgentHub.Agents.AgentSkillSummary>))]
[JsonSerializable(typeof(System.Text.Json.Nodes.JsonObject))]
[JsonSerializable(typeof(AgentHub.Policy.CreatePolicyRequest))]
[JsonSerializable(typeof(AgentHub.Policy.ExplainPolicyRequest))]
[JsonSerializable(typeof(AgentHub.Policy.PolicyResponse))]
[JsonSerializable(typeof(PageResponse<AgentHub.Policy.PolicyResponse>))]
[JsonSerializable(typeof(AgentHub.Policy.ExplainPolicyResponse))]
[JsonSerializable(typeof(ProblemDetails))]
[JsonSerializable(typeof(HttpValidationProblemDetails))]
internal sealed partial class HubJsonContext : JsonSerializerContext;
