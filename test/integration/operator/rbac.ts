/**
 * The least RBAC the operator needs, exactly as docs/operator.md lists it. The leader-election test runs the
 * operator under a ServiceAccount bound to these rules, so a missing verb fails a test, not a deployment.
 */
export function operatorRbac(ns: string, sa: string): unknown[] {
  const subject = { kind: 'ServiceAccount', name: sa, namespace: ns };
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: `modelroute-operator-${ns}` },
      rules: [
        { apiGroups: ['modelroute.dev'], resources: ['modelroutes'], verbs: ['get', 'list', 'watch', 'update'] },
        { apiGroups: ['modelroute.dev'], resources: ['modelroutes/status'], verbs: ['update'] },
        { apiGroups: ['modelroute.dev'], resources: ['modelroutes/finalizers'], verbs: ['update'] },
        { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch', 'create'] },
        { apiGroups: [''], resources: ['events'], verbs: ['create'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `modelroute-operator-${ns}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `modelroute-operator-${ns}` },
      subjects: [subject],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'modelroute-operator-leader-election', namespace: ns },
      rules: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'modelroute-operator-leader-election', namespace: ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'modelroute-operator-leader-election' },
      subjects: [subject],
    },
  ];
}
