/** Small builders for OpenAPI v3 schema nodes, so crd-schema.ts reads as a list of fields and their docs. */

export interface Rule {
  rule: string;
  message: string;
  fieldPath?: string;
}

export interface SchemaNode {
  type: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description: string;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  items?: SchemaNode;
  enum?: string[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  format?: string;
  'x-kubernetes-validations'?: Rule[];
  'x-kubernetes-list-type'?: 'atomic' | 'map' | 'set';
  'x-kubernetes-list-map-keys'?: string[];
}

type Extra = Partial<Omit<SchemaNode, 'type' | 'description'>>;

export const str = (description: string, maxLength: number, extra: Extra = {}): SchemaNode => ({
  type: 'string',
  description,
  maxLength,
  ...extra,
});
export const int = (
  description: string,
  minimum: number | undefined,
  maximum: number,
  extra: Extra = {},
): SchemaNode => ({
  type: 'integer',
  description,
  ...(minimum !== undefined ? { minimum } : {}),
  maximum,
  ...extra,
});
export const num = (
  description: string,
  minimum: number | undefined,
  maximum: number,
  extra: Extra = {},
): SchemaNode => ({
  type: 'number',
  description,
  ...(minimum !== undefined ? { minimum } : {}),
  maximum,
  ...extra,
});
export const bool = (description: string): SchemaNode => ({ type: 'boolean', description });
export const obj = (
  description: string,
  properties: Record<string, SchemaNode>,
  required: string[] = [],
  rules: Rule[] = [],
): SchemaNode => ({
  type: 'object',
  description,
  properties,
  ...(required.length ? { required } : {}),
  ...(rules.length ? { 'x-kubernetes-validations': rules } : {}),
});
export const list = (description: string, items: SchemaNode, maxItems: number, extra: Extra = {}): SchemaNode => ({
  type: 'array',
  description,
  items,
  maxItems,
  ...extra,
});
