/** Collaborator user ids, as the REST API and archives accept them. */
export const USER_ID_PATTERN = /^[\w.@:+-]{1,128}$/;
export const USER_ID_RULE = 'user ids are 1-128 chars of A-Z a-z 0-9 _ . @ : + -';
