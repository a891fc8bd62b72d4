import { systemClock } from "../../src/clock.ts";
import { RegistryClient } from "../../src/image/registry-client.ts";
import { parseRepository } from "../../src/image/repository.ts";

/** Reads a test registry through the distribution API, independently of what the action reports. */
export function registryApi(repository: string) {
  const client = new RegistryClient({ repository: parseRepository(repository), clock: systemClock });
  return {
    client,
    digestOf: async (tag: string) => (await client.getManifest(tag))?.digest,
    labelsOf: async (tag: string) => {
      const manifest = await client.getManifest(tag);
      if (!manifest) throw new Error(`${repository}:${tag} does not exist`);
      return client.labels(manifest);
    },
    tags: async () => {
      const registry = repository.slice(0, repository.indexOf("/"));
      const path = repository.slice(repository.indexOf("/") + 1);
      const response = await fetch(`http://${registry}/v2/${path}/tags/list`);
      if (response.status === 404) return [];
      return (((await response.json()) as { tags?: string[] | null }).tags ?? []).sort();
    },
  };
}
