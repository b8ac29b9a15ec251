/**
 * Every site this hub knows (issue 16): the partition sessions subscribe to the sites of their partition. A site is
 * known as a customer's site, as a registered device's site, or as a config agent's site (the registry's agent API
 * accepts an agent only for such a site).
 */
export function knownSites(sources: {
  agents: readonly { site: string }[];
  devices(): readonly { site: string }[];
  customerSites(): readonly { id: string }[];
}): string[] {
  const sites = new Set<string>();
  for (const a of sources.agents) sites.add(a.site);
  for (const d of sources.devices()) sites.add(d.site);
  for (const s of sources.customerSites()) sites.add(s.id);
  return [...sites];
}
