/**
 * Client ids bound to agents: an agent may connect only with an id of its own - its agent id, the agent's
 * default `hezo-agent-<site>-<agentId>` (cut to 64 characters), or either followed by `-<anything>`. When an id
 * fits several agents (agent `a` and agent `a-b`), the most specific one owns it.
 */
export interface IdOwner {
  agentId: string;
  site: string;
}

function prefixesOf(agent: IdOwner): string[] {
  return [agent.agentId, `hezo-agent-${agent.site}-${agent.agentId}`.slice(0, 64)];
}

export class ClientIdBinding {
  private readonly agents: readonly IdOwner[];

  constructor(agents: readonly IdOwner[]) {
    this.agents = agents;
  }

  /** The agent that owns `clientId`, or undefined when no agent does. */
  owner(clientId: string): string | undefined {
    let best: { agentId: string; length: number } | undefined;
    for (const agent of this.agents) {
      for (const prefix of prefixesOf(agent)) {
        if (clientId !== prefix && !clientId.startsWith(`${prefix}-`)) continue;
        if (best === undefined || prefix.length > best.length) best = { agentId: agent.agentId, length: prefix.length };
      }
    }
    return best?.agentId;
  }

  mayUse(agentId: string, clientId: string): boolean {
    return this.owner(clientId) === agentId;
  }
}
