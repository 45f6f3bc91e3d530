/**
 * `namespace.idFromName(name)`, remembered per isolate. Deriving an id hashes its name, and the
 * hot paths (a publish, a delivery, a quota lease) ask for the same few objects all day. Only the
 * ids are kept, never stubs: a stub whose call threw stays broken, and a fresh one costs little.
 * At MAX_NAMES names per namespace the cache starts over, so a flood of names cannot grow it.
 */
export const MAX_NAMES = 10_000;

const byNamespace = new WeakMap<object, Map<string, DurableObjectId>>();

export function objectId<T extends Rpc.DurableObjectBranded | undefined>(
  namespace: DurableObjectNamespace<T>,
  name: string,
): DurableObjectId {
  let ids = byNamespace.get(namespace);
  if (ids === undefined) {
    ids = new Map();
    byNamespace.set(namespace, ids);
  }
  let id = ids.get(name);
  if (id === undefined) {
    if (ids.size >= MAX_NAMES) ids.clear();
    id = namespace.idFromName(name);
    ids.set(name, id);
  }
  return id;
}
