// The .mmtp protocol specification language. docs/language.md is its reference.
//
// Most words of the language are soft keywords: they are keywords only where the
// grammar expects one, so `id`, `type`, `length` or `value` stay usable as field names
// (see the `name` rule). Types are names too (u16, ipv4, bytes ...): the AST builder
// gives them meaning, so a bad type is reported by our checker, not as a syntax error.
grammar Mmtp;

file : (protocolDecl | tableDecl | serviceDecl)* EOF ;

protocolDecl : 'protocol' name '{' protoItem* '}' ;

// A named code space (EtherTypes...): values to the protocols they name, for any
// protocol to classify its payload by (`classify by value (e) using NAME;`). Several
// declarations of one name add to it.
tableDecl : 'table' name '{' classifyCase* '}' ;

// A service that flows are named by (docs/services.md): host-name suffixes, as
// strings, and address prefixes in CIDR notation, as strings.
serviceDecl : 'service' name '{' serviceItem* '}' ;

serviceItem
    : 'names' STRING (',' STRING)* ';'                                # serviceNamesItem
    | 'prefixes' STRING (',' STRING)* ';'                             # servicePrefixesItem
    ;

protoItem
    : 'id' INT ';'                                                    # idItem
    | 'byteorder' name ';'                                            # byteOrderItem
    | 'over' name (',' name)* overRule weightClause? quoted='quoted'? ';' # overItem
    | 'ports' '(' expr ',' expr ')' ';'                               # portsItem
    | 'header' '{' fieldItem* '}'                                     # headerItem
    | 'body' '{' fieldItem* '}'                                       # bodyItem
    | 'record' name '{' fieldItem* '}'                                # recordItem
    | 'let' name (':' typeName)? '=' expr ';'                         # letItem
    | lengthName '=' expr ';'                                         # lengthItem
    | 'pdu' 'until' STRING ';'                                        # pduUntilItem
    | 'max_pdu' (SIZE | INT) ';'                                      # maxPduItem
    | 'attribute' name (',' name)* ';'                                # attrListItem
    | 'attribute' name (':' attrType)? '=' expr ('if' expr)? ';'      # attrDefItem
    | 'event' 'attribute' name (':' attrType)? ('=' expr)?
          ('on' expr)? ('if' expr)? ';'                               # eventAttrItem
    | 'key' keyParts ';'                                              # keyItem
    | 'session' ('key' keyParts)? 'timeout' DURATION ';'              # sessionItem
    | 'state' '{' stateVar* '}'                                       # stateItem
    | 'update' name '=' expr ('if' expr)? ';'                         # updateItem
    | 'classify' weightClause? classifyRule                           # classifyItem
    | 'stream' '{' assignment* '}'                                    # streamItem
    | 'fragment' '{' assignment* '}'                                  # fragmentItem
    ;

assignment : name '=' expr ';' ;

lengthName : 'header_length' | 'payload_length' | 'pdu_length' | 'pdu_body' ;

overRule
    : 'when' expr                                                     # overWhen
    | 'port' caseValue (',' caseValue)*                               # overPort
    ;

weightClause : 'weight' INT ;

keyParts : '(' exprList ')' ('<->' '(' exprList ')')? ;

// `bytes max N`: a state variable of bytes holds at most N of them.
stateVar : name ':' typeName ('max' INT)? ('=' expr)? ';' ;

classifyRule
    : 'by' 'value' '(' expr ')' '{' classifyCase* '}'                 # classifyByValue
    | 'by' 'value' '(' expr ')' 'using' name ';'                      # classifyByTable
    | 'by' 'port' '{' classifyCase* '}'                               # classifyByPort
    | 'when' expr '=>' name ';'                                       # classifyWhen
    ;

classifyCase : caseValue (',' caseValue)* '=>' name ';' ;

caseValue : INT ('..' INT)? ;

fieldItem
    : fieldDecl                                                       # fieldDeclItem
    | 'requires' expr ';'                                             # requiresItem
    | 'switch' '(' expr ')' ('size' expr)? '{' switchArm* '}'         # switchItem
    // Not the language: read so that the checker can say the parentheses are missing.
    | 'switch' expr ('size' expr)? '{' switchArm* '}'                 # switchNoParensItem
    ;

fieldDecl : fieldName ':' fieldType fieldSuffix* ';' ;

fieldName : name | '_' ;
bitName : name | '_' ;

// `bytes`, `bytes[n]`, `bytes until "x"`, `u16`, `rec`, `rec[n]`, `rec[] until "x"` ...
fieldType : typeName ('[' expr? ']')? ;

fieldSuffix
    : 'until' STRING                                                  # untilStringSuffix
    | 'until' '(' expr ')'                                            # untilExprSuffix
    | 'size' expr                                                     # sizeSuffix
    | 'max' INT                                                       # maxSuffix
    | 'if' expr                                                       # ifSuffix
    | 'requires' expr                                                 # requiresSuffix
    | '{' bitName (',' bitName)* '}'                                  # bitNamesSuffix
    ;

switchArm
    : (caseValue (',' caseValue)* | 'default') '=>'
          (fieldDecl | '{' fieldItem* '}')
    ;

typeName : name ;

// An attribute's type, and how its integers print: `u32 hex`.
attrType : typeName display=name? ;

exprList : expr (',' expr)* ;

expr
    : primary                                                         # primaryExpr
    | expr '.' name                                                   # memberExpr
    | expr '[' expr ']'                                               # indexExpr
    | name '(' exprList? ')'                                          # callExpr
    | op=('-' | '~') expr                                             # unaryExpr
    | expr op=('*' | '/' | '%') expr                                  # mulExpr
    | expr op=('+' | '-') expr                                        # addExpr
    | expr op=('<<' | '>>') expr                                      # shiftExpr
    | expr op='&' expr                                                # bitAndExpr
    | expr op='^' expr                                                # bitXorExpr
    | expr op='|' expr                                                # bitOrExpr
    | expr op=('==' | '!=' | '<' | '<=' | '>' | '>=') expr            # compareExpr
    | expr 'in' '{' caseValue (',' caseValue)* '}'                    # inExpr
    | 'not' expr                                                      # notExpr
    | expr op='and' expr                                              # andExpr
    | expr op='or' expr                                               # orExpr
    | <assoc=right> expr '?' expr ':' expr                            # condExpr
    ;

primary
    : INT                                                             # intLit
    | STRING                                                          # stringLit
    | ('true' | 'false')                                              # boolLit
    | name                                                            # nameRef
    | '(' expr ')'                                                    # parenExpr
    ;

// Soft keywords: usable as names everywhere a name is expected.
name
    : IDENT
    | 'protocol' | 'id' | 'byteorder' | 'over' | 'ports' | 'header' | 'body' | 'record'
    | 'let' | 'header_length' | 'payload_length' | 'pdu_length' | 'pdu_body' | 'pdu' | 'until'
    | 'attribute' | 'event' | 'on' | 'key' | 'session' | 'timeout' | 'state' | 'update'
    | 'classify' | 'by' | 'value' | 'port' | 'when' | 'weight' | 'requires' | 'switch'
    | 'size' | 'max' | 'default' | 'stream' | 'fragment' | 'quoted' | 'max_pdu'
    | 'table' | 'using' | 'service' | 'names' | 'prefixes'
    ;

INT      : [0-9]+ | '0x' [0-9a-fA-F]+ | '0b' [01]+ ;
DURATION : [0-9]+ ('ms' | 's' | 'm' | 'h') ;
SIZE     : [0-9]+ ('B' | 'KiB' | 'MiB') ;
STRING   : '"' (~["\\\r\n] | '\\' .)* '"' ;
IDENT    : [a-zA-Z_] [a-zA-Z_0-9]* ;

// `/// text` before a declaration, or `///< text` after it on its line, documents it
// (the descriptions of `mmtrun -L -v`); `////` rulers are plain comments.
DOC_COMMENT   : '///' (~[/\r\n] ~[\r\n]*)? -> channel(2) ;
LINE_COMMENT  : '//' ~[\r\n]* -> skip ;
BLOCK_COMMENT : '/*' .*? '*/' -> skip ;
WS            : [ \t\r\n]+ -> skip ;
// A block comment that never closes: matched only when no `*/` follows.
UNTERMINATED_COMMENT : '/*' (~'*' | '*'+ ~[*/])* '*'* EOF ;

// Anything else becomes a token the parser rejects with a clear message.
BAD_CHAR : . ;
